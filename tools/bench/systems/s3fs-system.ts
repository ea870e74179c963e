// s3fs-fuse, the baseline, mounted with exactly the options of the published
// comparison, plus what a local endpoint needs: the proxy's URL, path-style
// requests and a passwd file. (Against this s3rver, s3fs 1.90 needs nothing
// else: SigV4 works as is and there is no TLS, so no sigv2/no_check_certificate.)
// Its use_cache directory is emptied before each cold mount so the first
// epoch really reads from S3.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonPid, unmount, waitForMount } from './fuse-mount.js';
import type { BenchSystem, DatasetLocation, OpenView, SystemContext } from './system.js';
import { LOCAL_CREDENTIALS } from '../link/sigv4.js';
import { discardLater } from '../util/discard-later.js';

const execFileAsync = promisify(execFile);

/** The published baseline's cache directory, kept as is. */
const S3FS_CACHE_DIR = '/tmp/s3cache';

/** The options of the reference benchmark, verbatim. */
const S3FS_PUBLISHED_OPTIONS: readonly string[] = [
  'kernel_cache',
  'allow_other',
  'max_background=10000',
  'max_stat_cache_size=10000000',
  `use_cache=${S3FS_CACHE_DIR}`,
  'retries=10',
  'connect_timeout=600',
  'readwrite_timeout=600',
  'list_object_max_keys=10000',
  'stat_cache_interval_expire=172800',
];

let mountCounter = 0;

export const s3fsSystem: BenchSystem = {
  name: 's3fs',
  label: 's3fs-fuse',
  role: 'baseline',
  measureEveryEpoch: true,
  async openCold(ds: DatasetLocation, ctx: SystemContext): Promise<OpenView> {
    ctx.cleanup.throwIfAborted();
    const passwd = join(ctx.workDir, 's3fs-passwd');
    await writeFile(passwd, `${LOCAL_CREDENTIALS.accessKeyId}:${LOCAL_CREDENTIALS.secretAccessKey}\n`, { mode: 0o600 });
    await rm(S3FS_CACHE_DIR, { recursive: true, force: true });
    await mkdir(S3FS_CACHE_DIR, { recursive: true });
    const mountPoint = join(ctx.workDir, `mnt-s3fs-${ds.kind}-${++mountCounter}`);
    await mkdir(mountPoint, { recursive: true });
    const source = ds.prefix === '' ? ds.bucket : `${ds.bucket}:/${ds.prefix.replace(/\/$/, '')}`;
    const opts = [...S3FS_PUBLISHED_OPTIONS, `url=${ctx.link.endpoint}`, 'use_path_request_style', `passwd_file=${passwd}`];
    const args = [source, mountPoint, ...opts.flatMap((o) => ['-o', o])];
    let pid: number | undefined;
    const release = ctx.cleanup.add(`unmount ${mountPoint}`, async () => {
      await unmount(mountPoint, pid);
      // Its cache holds a copy of everything read; nothing reuses it after the mount.
      await discardLater(S3FS_CACHE_DIR, ctx.workDir);
    });
    try {
      // s3fs daemonizes: the command returns once the mount is set up (or failed).
      await execFileAsync('s3fs', args, { timeout: 60_000 });
      await waitForMount(mountPoint, () => true);
    } catch (err) {
      await release();
      throw new Error(`s3fs mount failed: ${(err as Error).message.split('\n')[0]}`);
    }
    pid = daemonPid(mountPoint, 's3fs');
    return { view: { kind: 'fs', root: mountPoint, daemonPid: pid }, close: release };
  },
};
