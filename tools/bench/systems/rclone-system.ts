// rclone mount, a peer: another widely used FUSE mount of S3 with a local
// disk cache, measured side by side with s3cachefs and s3fs-fuse. It is
// configured only by a config file in the run's scratch directory (an S3
// remote of provider "Other" at the emulated link, path-style, the local
// server's credentials), mounted with the VFS cache in `full` mode in a fresh
// cache directory for every cold view, and taken down with `fusermount -u`.
// It runs in the foreground as a child of the harness (in its own process
// group, so Ctrl-C reaches the harness's cleanup first), so its pid, and with
// it its CPU seconds and RSS, are known exactly. rclone's own defaults are kept
// otherwise: 1 s attribute cache, 5 min directory cache, read-ahead, 4 upload
// transfers, and uploads that start 5 s after a file is closed (--vfs-write-back).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unmount, waitForMount } from './fuse-mount.js';
import type { BenchSystem, DatasetLocation, OpenView, SystemContext } from './system.js';
import { LOCAL_CREDENTIALS, type Credentials } from '../link/sigv4.js';
import { discardLater } from '../util/discard-later.js';

/** The remote's name inside the config file. */
export const RCLONE_REMOTE = 'bench';
/** Like s3cachefs's cache size in the harness: big enough that no quick or full run evicts. */
const RCLONE_CACHE_MAX_SIZE = '20G';

let mountCounter = 0;

/** The config file: one S3 remote at `endpoint`. The bucket always exists here, so rclone is told not to create it. */
export function rcloneConfig(endpoint: string, creds: Credentials = LOCAL_CREDENTIALS): string {
  return [
    `[${RCLONE_REMOTE}]`,
    'type = s3',
    'provider = Other',
    'env_auth = false',
    `access_key_id = ${creds.accessKeyId}`,
    `secret_access_key = ${creds.secretAccessKey}`,
    `region = ${creds.region}`,
    `endpoint = ${endpoint}`,
    'force_path_style = true',
    'no_check_bucket = true',
    '',
  ].join('\n');
}

export interface RcloneMountPaths {
  readonly configFile: string;
  readonly cacheDir: string;
  readonly logFile: string;
}

/** `remote:bucket[/prefix]` for a dataset location (prefixes end in '/'; rclone wants none). */
export function rcloneSource(ds: Pick<DatasetLocation, 'bucket' | 'prefix'>): string {
  const prefix = ds.prefix.replace(/\/+$/, '');
  return `${RCLONE_REMOTE}:${ds.bucket}${prefix === '' ? '' : `/${prefix}`}`;
}

export function rcloneMountArgs(source: string, mountPoint: string, paths: RcloneMountPaths): string[] {
  return [
    'mount', source, mountPoint,
    '--config', paths.configFile,
    '--vfs-cache-mode', 'full',
    '--cache-dir', paths.cacheDir,
    '--vfs-cache-max-size', RCLONE_CACHE_MAX_SIZE,
    '--allow-other',
    '--log-file', paths.logFile,
    '--log-level', 'NOTICE',
  ];
}

/**
 * rclone's environment: ours without AWS_CA_BUNDLE. Its AWS SDK reads that
 * variable even with env_auth = false and then refuses rclone's own HTTP
 * transport ("LoadCustomCABundleError"), so the mount never comes up on a
 * machine that sets it; the endpoint here is plain http anyway.
 */
export function rcloneEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _dropped, ...rest } = env;
  return rest;
}

/** The last line rclone logged, to explain a mount that did not come up. */
function lastLogLine(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return '';
  }
}

export const rcloneSystem: BenchSystem = {
  name: 'rclone',
  label: 'rclone mount',
  role: 'peer',
  measureEveryEpoch: true,
  async openCold(ds: DatasetLocation, ctx: SystemContext): Promise<OpenView> {
    ctx.cleanup.throwIfAborted();
    const n = ++mountCounter;
    const configFile = join(ctx.workDir, 'rclone.conf');
    await writeFile(configFile, rcloneConfig(ctx.link.endpoint), { mode: 0o600 });
    const mountPoint = join(ctx.workDir, `mnt-rclone-${ds.kind}-${n}`);
    const cacheDir = join(ctx.workDir, `rclone-cache-${ds.kind}-${n}`);
    const logFile = join(ctx.logDir, `rclone-${ds.kind}-${n}.log`);
    await rm(cacheDir, { recursive: true, force: true });
    await mkdir(cacheDir, { recursive: true });
    await mkdir(mountPoint, { recursive: true });
    await mkdir(ctx.logDir, { recursive: true });
    const child = spawn('rclone', rcloneMountArgs(rcloneSource(ds), mountPoint, { configFile, cacheDir, logFile }), { env: rcloneEnv(), stdio: 'ignore', detached: true });
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.unref();
    const pid = child.pid;
    const release = ctx.cleanup.add(`unmount ${mountPoint}`, async () => {
      await unmount(mountPoint, pid);
      await discardLater(cacheDir, ctx.workDir);
    });
    try {
      await waitForMount(mountPoint, () => spawnError === undefined && child.exitCode === null && child.signalCode === null);
    } catch (err) {
      await release();
      const why = spawnError?.message ?? (lastLogLine(logFile) || (err as Error).message);
      throw new Error(`rclone mount failed: ${why}`);
    }
    return { view: { kind: 'fs', root: mountPoint, daemonPid: pid }, close: release };
  },
};
