// Runs the scale benchmark on one system against the synthetic store: mount, `find` cold
// and warm (its listing is the epoch's file list), one cold and one warm epoch by P reader
// processes (`xargs -P P cat`, shuffled, page cache dropped before each), and for s3cachefs
// an unmount and a remount on the same cache (index scan, catalog, listing manifest) timed
// to ready and to the end of a `find`. Every phase is bounded by the time limit; a phase
// past it is killed and reported as not finished. The daemon's CPU and RSS come from /proc.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cleanup } from '../env/cleanup.js';
import { dropPageCache } from '../env/page-cache.js';
import { cpuSeconds, memory } from '../env/proc-stats.js';
import { daemonPid, unmount, waitForMount } from '../systems/fuse-mount.js';
import type { LinkEmulator } from '../link/link-emulator.js';
import { LOCAL_CREDENTIALS } from '../link/sigv4.js';
import { rcloneSystem } from '../systems/rclone-system.js';
import { s3fsSystem } from '../systems/s3fs-system.js';
import type { SystemContext } from '../systems/system.js';
import { SyntheticNamespace } from '../../local-s3/synthetic-namespace.js';
import { SCALE_PREFIX, type ScaleOptions, type ScaleSystem } from './scale-options.js';
import type { MemorySplit, PhaseResult, ScaleSystemResult } from './scale-report.js';

const execFileAsync = promisify(execFile);

export interface ScaleRunContext {
  readonly opts: ScaleOptions;
  readonly endpoint: string;
  readonly bucket: string;
  readonly workDir: string;
  readonly logDir: string;
  readonly repoRoot: string;
  readonly cleanup: Cleanup;
  readonly log: (line: string) => void;
}

interface Mounted {
  readonly root: string;
  readonly pid: number | undefined;
  readonly close: () => Promise<void>;
}

/** Runs `sh -c script` bounded by `limitMs`; resolves its seconds, or undefined when killed at the limit. */
async function timed(script: string, limitMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  return await new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { if (err.length < 2000) err += d.toString(); });
    const timer = setTimeout(() => { try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* gone */ } }, limitMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== null) resolve(undefined);
      else if (code !== 0) reject(new Error(`${script.slice(0, 80)}: exit ${code}: ${err.split('\n')[0] ?? ''}`));
      else resolve((performance.now() - t0) / 1000);
    });
  });
}

async function mountS3cachefs(ctx: ScaleRunContext, mountPoint: string, cacheDir: string, n: number): Promise<Mounted> {
  const cli = join(ctx.repoRoot, 'dist', 'cli.js');
  const env = { ...process.env, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey, AWS_REGION: LOCAL_CREDENTIALS.region };
  const args = [cli, 'mount', `s3://${ctx.bucket}`, mountPoint, '--endpoint-url', ctx.endpoint, '--cache-dir', cacheDir,
    '--cache-size', '40G', '--metadata-ttl', 'indefinite', '--read-only', '--log-level', 'warn',
    '--log-file', join(ctx.logDir, `s3cachefs-scale-${n}.log`), ...ctx.opts.s3cachefsArgs];
  await execFileAsync(process.execPath, args, { env, timeout: ctx.opts.timeLimitSeconds * 1000 });
  await waitForMount(mountPoint, () => true);
  const pid = daemonPid(mountPoint, 'node');
  const own = async (): Promise<void> => { await execFileAsync(process.execPath, [cli, 'unmount', mountPoint], { env, timeout: 600_000 }); };
  const release = ctx.cleanup.add(`unmount ${mountPoint}`, () => unmount(mountPoint, pid, own));
  return { root: mountPoint, pid, close: release };
}

async function mountPeer(system: ScaleSystem, ctx: ScaleRunContext): Promise<Mounted> {
  const sys = system === 's3fs' ? s3fsSystem : rcloneSystem;
  const link = { endpoint: ctx.endpoint } as unknown as LinkEmulator;
  const sctx: SystemContext = { link, workDir: ctx.workDir, logDir: ctx.logDir, repoRoot: ctx.repoRoot, cleanup: ctx.cleanup, s3cachefsArgs: [] };
  const open = await sys.openCold({ kind: 'metadata', bucket: ctx.bucket, prefix: '', localDir: ctx.workDir }, sctx);
  if (open.view.kind !== 'fs') throw new Error(`${system} did not mount`);
  return { root: open.view.root, pid: open.view.daemonPid, close: open.close };
}

/** The daemon's memory as its `stats --json` splits it; undefined if the daemon does not answer. */
async function memorySplit(ctx: ScaleRunContext, mountPoint: string): Promise<MemorySplit | undefined> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [join(ctx.repoRoot, 'dist', 'cli.js'), 'stats', mountPoint, '--json'], { timeout: 60_000 });
    const m = (JSON.parse(stdout) as { memory?: MemorySplit }).memory;
    return m === undefined ? undefined : { rssBytes: m.rssBytes, heapUsedBytes: m.heapUsedBytes, heapTotalBytes: m.heapTotalBytes, externalBytes: m.externalBytes };
  } catch {
    return undefined;
  }
}

/** Every object's path under the mount, in listing order: what `find` lists when it finishes. */
function namespacePaths(root: string, opts: ScaleOptions): string[] {
  const ns = new SyntheticNamespace({ objects: opts.objects, perDirectory: opts.perDirectory, prefix: SCALE_PREFIX, minBytes: opts.minBytes, maxBytes: opts.maxBytes });
  return Array.from({ length: opts.objects }, (_, i) => `${root}/${ns.key(i)}`);
}

/** The epoch's files (all, or `sample` spread over the listing), shuffled, in one part per reader; returns the parts and the count. */
async function writeParts(listFile: string, readers: number, dir: string, sample: number): Promise<{ parts: string[]; files: number }> {
  const listed = (await readFile(listFile, 'utf8')).split('\n').filter((l) => l !== '');
  const step = sample > 0 && sample < listed.length ? listed.length / sample : 1;
  const files = step === 1 ? listed : Array.from({ length: sample }, (_, i) => listed[Math.floor(i * step)] as string);
  let seed = 1;
  for (let i = files.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [files[i], files[j]] = [files[j] as string, files[i] as string];
  }
  const parts = Array.from({ length: readers }, (_, k) => join(dir, `part-${k}`));
  await Promise.all(parts.map((p, k) => writeFile(p, files.filter((_, i) => i % readers === k).join('\n') + '\n')));
  return { parts, files: files.length };
}

export async function runScaleSystem(system: ScaleSystem, ctx: ScaleRunContext): Promise<ScaleSystemResult> {
  const { opts } = ctx;
  const result: ScaleSystemResult = { system, phases: {}, notes: [] };
  const dir = join(ctx.workDir, system);
  await mkdir(dir, { recursive: true });
  const mountPoint = join(dir, 'mnt');
  const cacheDir = join(dir, 'cache');
  await mkdir(mountPoint, { recursive: true });
  const phases = result.phases as Record<string, PhaseResult>;
  let m: Mounted | undefined;
  const limitSeconds = system === 's3cachefs' ? opts.timeLimitSeconds : opts.peerTimeLimitSeconds;
  /** Runs one timed phase; a phase cut at the limit records how many of its files `progress` says were done. */
  const phase = async (name: string, files: number, script: string, progress?: () => Promise<number>): Promise<boolean> => {
    const cpu0 = m?.pid === undefined ? undefined : cpuSeconds(m.pid);
    const seconds = await timed(script, limitSeconds * 1000);
    const cpu1 = m?.pid === undefined ? undefined : cpuSeconds(m.pid);
    const cpu = cpu0 !== undefined && cpu1 !== undefined ? { cpuSeconds: cpu1 - cpu0 } : {};
    const split = system === 's3cachefs' && m !== undefined ? await memorySplit(ctx, m.root) : undefined;
    const memory = split === undefined ? {} : { memory: split };
    if (seconds !== undefined) {
      phases[name] = { seconds, files, ...cpu, ...memory };
      ctx.log(`${system} ${name}: ${seconds.toFixed(1)} s`);
      return true;
    }
    // How far it got, where the phase can tell (undefined: unknown, and not reported).
    const doneFiles = progress === undefined ? undefined : await progress().catch(() => undefined);
    phases[name] = { files, ...(doneFiles === undefined ? {} : { doneFiles, limitSeconds }), note: `did not finish in ${limitSeconds} s`, ...cpu, ...memory };
    ctx.log(`${system} ${name}: did not finish${doneFiles === undefined ? '' : ` (${doneFiles} of ${files} files)`}`);
    return false;
  };
  try {
    const t0 = performance.now();
    m = system === 's3cachefs' ? await mountS3cachefs(ctx, mountPoint, cacheDir, 1) : await mountPeer(system, ctx);
    phases.mount = { seconds: (performance.now() - t0) / 1000, files: 0 };
    const list = join(dir, 'files.txt');
    const listed = async () => (await readFile(list, 'utf8')).split('\n').filter((l) => l !== '').length;
    let found = opts.objects;
    if (await phase('findCold', opts.objects, `find '${m.root}' -type f > '${list}'`, listed)) {
      found = await listed();
      if (found !== opts.objects) result.notes.push(`find listed ${found} files of ${opts.objects}`);
      await phase('findWarm', found, `find '${m.root}' -type f > /dev/null`);
    } else {
      // The epochs still run, on the paths the namespace defines (as a loader reading a manifest would).
      await writeFile(list, namespacePaths(m.root, opts).join('\n') + '\n');
      result.notes.push('`find` did not finish: the epochs read the namespace\'s paths, opened by name without a listing');
    }
    const { parts, files: epochFiles } = await writeParts(list, opts.readers, dir, opts.epochFiles);
    if (epochFiles !== found) result.notes.push(`epochs read ${epochFiles} of the ${found} files (--epoch-files), spread over every directory`);
    // Each batch of 256 files read appends its count to the reader's progress file, for a phase cut at the limit.
    const progressFiles = parts.map((p) => `${p}.done`);
    const epoch = parts.map((p, k) => `xargs -a '${p}' -d '\\n' -n 256 sh -c 'cat "$@" > /dev/null && echo $# >> "$0"' '${progressFiles[k]}' &`).join('\n') + '\nwait';
    const read = async () => (await Promise.all(progressFiles.map((f) => readFile(f, 'utf8').catch(() => ''))))
      .reduce((sum, text) => text.split('\n').reduce((n, l) => n + (Number(l) || 0), sum), 0);
    for (const name of ['epochCold', 'epochWarm']) {
      await Promise.all(progressFiles.map((f) => rm(f, { force: true })));
      const drop = dropPageCache();
      if (!drop.dropped) result.notes.push(`page cache not dropped: ${drop.reason}`);
      if (!(await phase(name, epochFiles, epoch, read))) return result;
      // A reader's failed `cat` does not fail the phase (`wait`): its batches are not counted.
      const done = await read();
      if (done < epochFiles) result.notes.push(`${name}: ${epochFiles - done} of ${epochFiles} files in batches whose reads failed`);
    }
    const mem = m.pid === undefined ? undefined : memory(m.pid);
    Object.assign(result, { peakRssBytes: mem?.hwmBytes, rssAfterEpochsBytes: mem?.rssBytes });
    if (system !== 's3cachefs') return result;
    await m.close();
    m = undefined;
    dropPageCache();
    const t1 = performance.now();
    m = await mountS3cachefs(ctx, mountPoint, cacheDir, 2);
    phases.remount = { seconds: (performance.now() - t1) / 1000, files: found };
    await phase('findAfterRemount', found, `find '${m.root}' -type f > /dev/null`);
    const after = m.pid === undefined ? undefined : memory(m.pid);
    Object.assign(result, { peakRssAfterRemountBytes: after?.hwmBytes });
    return result;
  } catch (err) {
    result.notes.push(`stopped: ${(err as Error).message.split('\n')[0] ?? ''}`);
    return result;
  } finally {
    // A run stopped early still reports the daemon's peak so far.
    if (result.peakRssBytes === undefined && m?.pid !== undefined && phases.remount === undefined) Object.assign(result, { peakRssBytes: memory(m.pid)?.hwmBytes });
    await m?.close().catch((err: unknown) => result.notes.push(`unmount: ${(err as Error).message}`));
    await rm(cacheDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
