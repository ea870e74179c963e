// The checkpoint-write workload: what a training job does when it saves.
// For every way of mounting a system (s3cachefs: --write-mode sync and
// async), each test on a fresh mount of a fresh, empty prefix of the writes
// bucket:
//  - checkpoint: one large file written sequentially, `dd bs=4M`;
//  - small-files: a folder of 100 KB files copied with `cp -r`.
// The writers are child processes (the harness never does file I/O on a
// mount), reading sources that were generated once and put in the page cache
// just before. Two times, both from the writer's start: until it exited after
// its last close() returned successfully ("close"), and until every object
// was in the bucket at its full size ("durable"), seen by polling the S3
// server directly, the same way for every system (s3fs uploads before close
// returns, rclone 5 s after it, s3cachefs async in the background). Where a
// system has a flush command (s3cachefs), it runs beside the polling and its
// time is kept too; if it fails, the test fails. The local-disk reference
// writes to the bench cache's disk; its "durable" is a syncfs. The cost (S3
// requests at the link, daemon CPU and peak RSS) spans writer start to
// durable. A failing writer (e.g. EIO at close) or flush is recorded with its
// message and the next test runs.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { CHECKPOINT_NAME, SMALL_DIR_NAME, smallFileName, type WriteSources } from '../dataset/write-sources.js';
import { dropPageCache } from '../env/page-cache.js';
import { emptyCost, PhaseMeter } from '../env/phase-meter.js';
import type { DurableVia, PhaseCost, WriteRow, WriteRun, WritesResult, WriteTest } from '../results.js';
import type { BenchSystem, DatasetLocation, MountVariant, OpenView } from '../systems/system.js';
import { runCommand } from '../util/run-command.js';
import { deletePrefix, waitInBucket, type ExpectedObjects } from './bucket-check.js';
import { fmt, type RunContext } from './run-context.js';

const WRITE_TESTS: readonly WriteTest[] = ['checkpoint', 'small-files'];
/** dd's block size: a checkpoint writer's buffered writes (torch.save streams in MiB-sized chunks). */
const DD_BLOCK = '4M';

/** One prefix per run, row and test: every test starts from an empty prefix and nothing is shared. */
const RUN_TAG = `w${Date.now().toString(36)}`;

export function writePrefix(row: string, test: WriteTest): string {
  return `${RUN_TAG}/${row}/${test}/`;
}

/** The writer's command line: dd for the checkpoint, cp -r for the small files. */
export function writerCommand(test: WriteTest, src: WriteSources, root: string): [string, string[]] {
  if (test === 'checkpoint') return ['dd', [`if=${src.checkpointFile}`, `of=${join(root, CHECKPOINT_NAME)}`, `bs=${DD_BLOCK}`, 'status=none']];
  return ['cp', ['-r', src.smallDir, join(root, SMALL_DIR_NAME)]];
}

/** The objects a test leaves in the bucket under `prefix`, with their sizes. */
export function expectedObjects(test: WriteTest, src: WriteSources, prefix: string): ExpectedObjects {
  if (test === 'checkpoint') return new Map([[prefix + CHECKPOINT_NAME, src.checkpointBytes]]);
  return new Map(Array.from({ length: src.smallFiles }, (_, i) => [`${prefix}${SMALL_DIR_NAME}/${smallFileName(i)}`, src.smallFileBytes] as const));
}

export function testSize(test: WriteTest, src: WriteSources): { files: number; bytes: number } {
  return test === 'checkpoint' ? { files: 1, bytes: src.checkpointBytes } : { files: src.smallFiles, bytes: src.smallFiles * src.smallFileBytes };
}

/** Reads the sources once, so the writer reads them from memory and the mount, not the local disk, is measured. */
async function warmSources(test: WriteTest, src: WriteSources): Promise<void> {
  if (test === 'checkpoint') {
    await pipeline(createReadStream(src.checkpointFile, { highWaterMark: 8 << 20 }), new Writable({ write: (_c, _e, done) => done() }));
    return;
  }
  for (let i = 0; i < src.smallFiles; i++) await readFile(join(src.smallDir, smallFileName(i)));
}

interface Times {
  readonly close: number | null;
  readonly durable: number | null;
  readonly flush?: number | null;
}

function run(test: WriteTest, src: WriteSources, via: DurableVia, t: Times, cost: PhaseCost, error?: string): WriteRun {
  const { files, bytes } = testSize(test, src);
  const rate = (s: number | null): number | null => (s === null || !(s > 0) ? null : bytes / s / 1e6);
  const r: WriteRun = { test, files, bytes, closeSeconds: t.close, durableSeconds: t.durable, closeMegabytesPerSecond: rate(t.close), durableMegabytesPerSecond: rate(t.durable), durableVia: via, cost };
  return { ...r, ...(t.flush === undefined || t.flush === null ? {} : { flushSeconds: t.flush }), ...(error === undefined ? {} : { error }) };
}

function message(err: unknown): string {
  return ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'unknown error';
}

/**
 * Polls the bucket until every object is there and, beside it, runs the
 * system's flush command if it has one; a failing flush stops the polling.
 * Returns [durable, flush] as performance.now() times.
 */
async function untilInBucket(opened: OpenView, test: WriteTest, src: WriteSources, prefix: string, deadline: number, ctx: RunContext): Promise<[number, number | undefined]> {
  const stop = new AbortController();
  const flushed = opened.flush === undefined
    ? Promise.resolve(undefined)
    : opened.flush(Math.max(1000, Math.round(deadline - performance.now()))).then(
        () => performance.now(),
        (err: unknown) => {
          stop.abort();
          throw err;
        },
      );
  const polled = waitInBucket({ endpoint: ctx.serverEndpoint, bucket: src.bucket }, prefix, expectedObjects(test, src, prefix), deadline, stop.signal);
  return Promise.all([polled, flushed]);
}

/** Writes, then waits until durable; the view is open and empty. */
async function timedWrite(test: WriteTest, src: WriteSources, opened: OpenView, root: string, local: boolean, prefix: string, ctx: RunContext): Promise<WriteRun> {
  const via: DurableVia = local ? 'sync' : 'poll';
  dropPageCache();
  await warmSources(test, src);
  const meter = new PhaseMeter(ctx.link, opened.view.kind === 'fs' ? opened.view.daemonPid : undefined, ctx.serverPid);
  const t0 = performance.now();
  const since = (t: number | undefined): number | null => (t === undefined ? null : (t - t0) / 1000);
  const deadline = t0 + ctx.phaseTimeoutMs;
  const [cmd, args] = writerCommand(test, src, root);
  try {
    await runCommand(cmd, args, ctx.phaseTimeoutMs);
  } catch (err) {
    return run(test, src, via, { close: null, durable: null }, meter.stop(), `writer failed: ${message(err)}`);
  }
  const close = since(performance.now());
  try {
    if (local) {
      await runCommand('sync', ['-f', root], ctx.phaseTimeoutMs);
      return run(test, src, via, { close, durable: since(performance.now()) }, meter.stop());
    }
    const [durable, flush] = await untilInBucket(opened, test, src, prefix, deadline, ctx);
    return run(test, src, via, { close, durable: since(durable), flush: since(flush) }, meter.stop());
  } catch (err) {
    return run(test, src, via, { close, durable: null }, meter.stop(), `not durable: ${message(err)}`);
  }
}

async function measureWrite(test: WriteTest, system: BenchSystem, variant: MountVariant | undefined, src: WriteSources, ctx: RunContext): Promise<WriteRun> {
  ctx.cleanup.throwIfAborted();
  const prefix = writePrefix(variant?.name ?? system.name, test);
  // The local-disk reference is the one filesystem system with the role of a limit.
  const local = system.role === 'limit';
  const ds: DatasetLocation = { kind: 'writes', bucket: src.bucket, prefix, localDir: join(src.localScratch, prefix) };
  if (local) await mkdir(ds.localDir, { recursive: true });
  try {
    const opened = await system.openCold(ds, ctx.system, variant);
    try {
      if (opened.view.kind !== 'fs') throw new Error('not a filesystem view');
      return await timedWrite(test, src, opened, opened.view.root, local, prefix, ctx);
    } finally {
      await opened.close();
    }
  } finally {
    // Not measured: the next test must not find this one's gigabyte in the server or on disk.
    if (local) await rm(ds.localDir, { recursive: true, force: true });
    else await deletePrefix({ endpoint: ctx.serverEndpoint, bucket: src.bucket }, prefix).catch((err: unknown) => ctx.log(`  could not delete ${prefix}: ${message(err)}`));
  }
}

function logRun(label: string, r: WriteRun, ctx: RunContext): void {
  const time = (s: number | null, mbps: number | null): string => (s === null ? 'n/a' : `${fmt(s, 1)} s (${fmt(mbps ?? NaN, 1)} MB/s)`);
  const tail = r.error === undefined ? '' : ` (${r.error})`;
  const flush = r.flushSeconds === undefined ? '' : `, flush returned at ${fmt(r.flushSeconds, 1)} s`;
  ctx.log(`  ${label}: write ${r.test}: close ${time(r.closeSeconds, r.closeMegabytesPerSecond)}, durable ${time(r.durableSeconds, r.durableMegabytesPerSecond)} via ${r.durableVia}${flush}${tail}`);
}

export async function runWrites(system: BenchSystem, src: WriteSources, ctx: RunContext): Promise<WritesResult> {
  const variants: readonly (MountVariant | undefined)[] = system.writeVariants ?? [undefined];
  const rows: WriteRow[] = [];
  for (const variant of variants) {
    const label = variant?.label ?? system.label;
    const runs: WriteRun[] = [];
    for (const test of WRITE_TESTS) {
      let r: WriteRun;
      try {
        r = await measureWrite(test, system, variant, src, ctx);
      } catch (err) {
        if (ctx.cleanup.aborted) throw err;
        r = run(test, src, system.role === 'limit' ? 'sync' : 'poll', { close: null, durable: null }, emptyCost(), message(err));
      }
      runs.push(r);
      logRun(label, r, ctx);
    }
    rows.push({ name: variant?.name ?? system.name, label, runs });
  }
  return { rows };
}
