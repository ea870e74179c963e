// The FUSE ceiling: libfuse3's own example `passthrough_ll` (C, low-level
// API, multithreaded loop) serving the local copy of a dataset. Whatever a
// FUSE daemon does, each read still crosses the kernel's FUSE queue and a
// userspace thread; this is the fastest that path goes on this machine, so
// warm epochs and warm shard reads (served from s3cachefs's disk cache) are
// judged against it. Its cold epoch is its warm one: it reads local disk.
//
// The example ships with Debian's libfuse3-dev (possibly gzipped) and is
// built once per run into the run's scratch directory, as its header comment
// says (`gcc -Wall passthrough_ll.c $(pkg-config fuse3 --cflags --libs)`,
// plus -O2), with any header it includes from beside it. It runs in the
// foreground (-f) as the harness's child, so its pid, CPU and RSS are exact,
// mounted with `-o source=DIR,cache=auto,allow_other,max_threads=16` and
// taken down with `fusermount3 -u`. libfuse 3.14's example accepts
// max_threads (libfuse parses it) but its main() hands the loop the pre-3.12
// config, which has no such field, so libfuse's default cap of 10 worker
// threads applies; the build checks the source and the report says which.
// The mount gets the kernel read-ahead window s3cachefs sets for its own mounts
// (1 MiB, so requests of up to 1 MiB) and the background bounds its INIT reply asks
// for (64 in flight, congested at 48: written through fusectl, since the example asks
// for none), so the ceiling is FUSE at its best here.
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { unmount, waitForMount } from './fuse-mount.js';
import { setKernelReadAhead } from '../../../src/fuse/kernel-read-ahead.js';
import { FUSE_MAX_BACKGROUND, KERNEL_READ_AHEAD } from '../../../src/config/defaults.js';
import { kernelReadAheadKiB } from '../../../src/config/resolve-config.js';
import type { BenchSystem, DatasetLocation, OpenView, SystemContext } from './system.js';
import { setBackgroundBounds } from '../util/fuse-connection.js';

const execFileAsync = promisify(execFile);

/** Where Debian's libfuse3-dev puts the examples. */
const EXAMPLES_DIR = '/usr/share/doc/libfuse3-dev/examples';
const SOURCE_NAME = 'passthrough_ll.c';
const BINARY_NAME = 'passthrough_ll';
/** Worker threads asked of the loop: the house reference measured the ceiling with 16 (more than the 8 loader processes keep busy). */
const PASSTHROUGH_MAX_THREADS = 16;
/** libfuse's FUSE_LOOP_MT_DEF_MAX_THREADS: what the loop uses when max_threads does not reach it. */
const LIBFUSE_DEFAULT_MAX_THREADS = 10;
/** A compile takes ~1 s; a loaded 2-core machine may need far longer. */
const BUILD_TIMEOUT_MS = 120_000;

export interface PassthroughBinary {
  readonly path: string;
  readonly libfuseVersion: string;
  /** Its --help lists `-o max_threads`: passing it is accepted. */
  readonly acceptsMaxThreads: boolean;
  /** Its main() gives max_threads to the loop (libfuse >= 3.12 loop config API). */
  readonly honoursMaxThreads: boolean;
}

/** An example file's text, from `name` or `name.gz`; undefined when neither exists. */
export function readExample(dir: string, name: string): string | undefined {
  const plain = join(dir, name);
  if (existsSync(plain)) return readFileSync(plain, 'utf8');
  if (existsSync(`${plain}.gz`)) return gunzipSync(readFileSync(`${plain}.gz`)).toString('utf8');
  return undefined;
}

/** The headers a source includes with quotes, i.e. from beside it (`#include "passthrough_helpers.h"`). */
export function localIncludes(source: string): string[] {
  return [...source.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => m[1] as string);
}

/** Whether the example's main() passes max_threads to the loop, judged from its source. */
export function sourceHonoursMaxThreads(source: string): boolean {
  return /fuse_loop_cfg_set_max_threads\s*\(/.test(source);
}

/** fuse_opt splits on commas and unescapes backslashes: a path with either is escaped. */
export function escapeFuseOpt(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}

export function passthroughMountArgs(sourceDir: string, mountPoint: string, maxThreads: number | undefined): string[] {
  const opts = [`source=${escapeFuseOpt(sourceDir)}`, 'cache=auto', 'allow_other', ...(maxThreads === undefined ? [] : [`max_threads=${maxThreads}`])];
  return ['-f', '-o', opts.join(','), mountPoint];
}

function firstLine(err: unknown): string {
  const e = err as { message?: string; stderr?: string; code?: string };
  if (e.code === 'ENOENT') return `${e.message ?? 'command not found'} (install gcc and pkg-config; scripts/bench.sh does)`;
  return (e.stderr?.trim() || e.message || String(err)).split('\n')[0] ?? 'unknown error';
}

async function build(buildDir: string): Promise<PassthroughBinary> {
  const source = readExample(EXAMPLES_DIR, SOURCE_NAME);
  if (source === undefined) throw new Error(`${SOURCE_NAME} is not in ${EXAMPLES_DIR}: install libfuse3-dev (scripts/bench.sh does)`);
  await mkdir(buildDir, { recursive: true });
  await writeFile(join(buildDir, SOURCE_NAME), source);
  for (const header of localIncludes(source)) {
    const text = readExample(EXAMPLES_DIR, header);
    if (text === undefined) throw new Error(`${SOURCE_NAME} includes ${header}, which is not in ${EXAMPLES_DIR}`);
    await writeFile(join(buildDir, header), text);
  }
  let flags: string[];
  let version: string;
  try {
    flags = (await execFileAsync('pkg-config', ['fuse3', '--cflags', '--libs'])).stdout.trim().split(/\s+/).filter((f) => f !== '');
    version = (await execFileAsync('pkg-config', ['--modversion', 'fuse3'])).stdout.trim();
  } catch (err) {
    throw new Error(`pkg-config fuse3 failed: ${firstLine(err)}`);
  }
  try {
    await execFileAsync('gcc', ['-O2', '-Wall', SOURCE_NAME, ...flags, '-o', BINARY_NAME], { cwd: buildDir, timeout: BUILD_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`building ${SOURCE_NAME} failed: ${firstLine(err)}`);
  }
  const path = join(buildDir, BINARY_NAME);
  const help = await execFileAsync(path, ['--help'], { timeout: 10_000 }).then((r) => r.stdout + r.stderr, (err: { stdout?: string }) => err.stdout ?? '');
  return { path, libfuseVersion: version, acceptsMaxThreads: /max_threads/.test(help), honoursMaxThreads: sourceHonoursMaxThreads(source) };
}

/** One build per scratch directory (i.e. per run), shared by every mount. */
const builds = new Map<string, Promise<PassthroughBinary>>();
let built: PassthroughBinary | undefined;

function buildPassthrough(workDir: string): Promise<PassthroughBinary> {
  let b = builds.get(workDir);
  if (b === undefined) {
    b = build(join(workDir, 'passthrough_ll'));
    b.then((x) => (built = x), () => undefined);
    builds.set(workDir, b);
  }
  return b;
}

/** What the report should say about the ceiling's thread pool. */
export function threadNote(b: PassthroughBinary): string {
  const asked = `-o max_threads=${PASSTHROUGH_MAX_THREADS}`;
  if (!b.acceptsMaxThreads) return `FUSE ceiling: passthrough_ll (libfuse ${b.libfuseVersion}) has no max_threads option; its multithreaded loop ran with libfuse's default cap of ${LIBFUSE_DEFAULT_MAX_THREADS} worker threads.`;
  if (b.honoursMaxThreads) return `FUSE ceiling: passthrough_ll (libfuse ${b.libfuseVersion}) ran its multithreaded loop with ${asked}.`;
  return `FUSE ceiling: passthrough_ll (libfuse ${b.libfuseVersion}) accepts ${asked}, but this example's main() passes the pre-3.12 loop config (clone_fd, max_idle_threads only), so libfuse's default cap of ${LIBFUSE_DEFAULT_MAX_THREADS} worker threads applied (peak threads per phase: daemon.peakThreads in results.json).`;
}

function lastLogLine(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return '';
  }
}

let mountCounter = 0;

export const passthroughSystem: BenchSystem = {
  name: 'passthrough',
  label: 'FUSE ceiling (libfuse3 passthrough_ll)',
  role: 'limit',
  // Like local disk: every epoch reads local disk, and each is a warm epoch's ceiling.
  measureEveryEpoch: true,
  readOnly: true,
  notes: () => (built === undefined ? [] : [threadNote(built)]),
  async openCold(ds: DatasetLocation, ctx: SystemContext): Promise<OpenView> {
    ctx.cleanup.throwIfAborted();
    const bin = await buildPassthrough(ctx.workDir);
    const n = ++mountCounter;
    const mountPoint = join(ctx.workDir, `mnt-passthrough-${ds.kind}-${n}`);
    const logFile = join(ctx.logDir, `passthrough-${ds.kind}-${n}.log`);
    await mkdir(mountPoint, { recursive: true });
    await mkdir(ctx.logDir, { recursive: true });
    const args = passthroughMountArgs(ds.localDir, mountPoint, bin.acceptsMaxThreads ? PASSTHROUGH_MAX_THREADS : undefined);
    const log = openSync(logFile, 'a');
    // Its own process group: Ctrl-C reaches the harness's cleanup, which unmounts, first.
    const child = spawn(bin.path, args, { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.unref();
    const pid = child.pid;
    const ownUnmount = async (): Promise<void> => {
      await execFileAsync('fusermount3', ['-u', mountPoint], { timeout: 30_000 });
    };
    const release = ctx.cleanup.add(`unmount ${mountPoint}`, () => unmount(mountPoint, pid, ownUnmount));
    try {
      await waitForMount(mountPoint, () => spawnError === undefined && child.exitCode === null && child.signalCode === null);
      await setKernelReadAhead(mountPoint, kernelReadAheadKiB(KERNEL_READ_AHEAD));
    } catch (err) {
      await release();
      throw new Error(`passthrough_ll mount failed: ${spawnError?.message ?? (lastLogLine(logFile) || (err as Error).message)}`);
    }
    try {
      await setBackgroundBounds(mountPoint, FUSE_MAX_BACKGROUND);
    } catch (err) {
      await release();
      throw new Error(`passthrough_ll: its background bounds could not be set: ${(err as Error).message}`);
    }
    return { view: { kind: 'fs', root: mountPoint, daemonPid: pid }, close: release };
  },
};
