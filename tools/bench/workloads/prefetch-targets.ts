// Two cross-file prefetch targets of issue 9, on s3cachefs only:
//
// 1. Serial announced reader: one process reads a shuffled list of files one at
//    a time after announcing it with `s3cachefs prefetch --list FILE`; its
//    files/s times the link's TTFB is how many times faster than the latency
//    bound (one round trip per file) it ran. The same reader on a fresh mount
//    without announcing is measured beside it.
// 2. Cache pressure: a disk cache of half the dataset (memory cache 16 MiB, so
//    the disk cache is what is measured), shuffled epochs by P readers, with
//    scan prefetch on (the default) and off (`--prefetch-after off`); the hit
//    ratio in bytes served from cache of each epoch (daemon's stats, deltas).
//    Prefetch must not lower it: it never evicts for itself.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Prng } from '../dataset/prng.js';
import type { PreparedDatasets } from '../dataset/prepare.js';
import type { PhaseCost } from '../results.js';
import type { BenchSystem, MountVariant } from '../systems/system.js';
import { runWorkers } from '../workers/worker-pool.js';
import { runEpoch } from './loader.js';
import { fmt, startPhase, type RunContext } from './run-context.js';

const execFileAsync = promisify(execFile);

/** Files the serial reader reads: enough for seconds of reading at 5× the latency bound. */
const SERIAL_FILES = 1000;
/** The memory block cache under cache pressure: small, so hits are the disk cache's. */
const PRESSURE_MEMORY_CACHE = '16MiB';

export interface SerialRun {
  readonly announced: boolean;
  readonly files: number;
  readonly filesPerSecond: number;
  /** Seconds `prefetch --list` took (announced run only). */
  readonly announceSeconds?: number;
  readonly errors: number;
  readonly cost: PhaseCost;
}

export interface PressureEpoch {
  readonly prefetch: boolean;
  readonly epoch: number;
  readonly imagesPerSecond: number;
  /** Bytes served from cache / bytes served, this epoch. */
  readonly hitRatio: number;
  readonly gets: number;
}

export interface PrefetchResult {
  /** The link's added time to first byte, ms: the latency bound is 1000 / ttfbMs files/s. */
  readonly ttfbMs: number;
  serial?: SerialRun[];
  pressure?: { readonly cacheBytes: number; readonly datasetBytes: number; readonly epochs: PressureEpoch[] };
  error?: string;
}

export async function runPrefetchTargets(system: BenchSystem, data: PreparedDatasets, ctx: RunContext): Promise<PrefetchResult> {
  const result: PrefetchResult = { ttfbMs: ctx.link.options.ttfbMs };
  const files = data.imageKeys.map((k) => k.slice(data.images.prefix.length));
  try {
    result.serial = [await serialRun(system, data, files, ctx, false), await serialRun(system, data, files, ctx, true)];
    result.pressure = await pressureRuns(system, data, files, ctx);
  } catch (err) {
    if (ctx.cleanup.aborted) throw err;
    result.error = (err as Error).message.split('\n')[0];
  }
  return result;
}

async function serialRun(system: BenchSystem, data: PreparedDatasets, files: readonly string[], ctx: RunContext, announced: boolean): Promise<SerialRun> {
  const order = new Prng(`${ctx.seed}:serial`).shuffle([...files]).slice(0, SERIAL_FILES);
  const opened = await system.openCold(data.images, ctx.system);
  try {
    if (opened.view.kind !== 'fs') throw new Error('not a filesystem view');
    const paths = order.map((p) => join(opened.view.kind === 'fs' ? opened.view.root : '', p));
    let announceSeconds: number | undefined;
    if (announced) {
      const list = join(ctx.system.workDir, 'serial-order.txt');
      await writeFile(list, paths.join('\n') + '\n');
      const t0 = performance.now();
      await execFileAsync(process.execPath, [join(ctx.system.repoRoot, 'dist', 'cli.js'), 'prefetch', '--list', list], { timeout: 60_000 });
      announceSeconds = (performance.now() - t0) / 1000;
    }
    const { meter } = startPhase(ctx, opened.view);
    const run = await runWorkers([{ kind: 'read-files', paths, batch: paths.length, stepS: 0 }], ctx.cleanup, ctx.phaseTimeoutMs);
    const cost = meter.stop();
    const r = run.results[0];
    if (r === undefined) throw new Error('the serial reader returned nothing');
    const filesPerSecond = r.seconds > 0 ? r.items / r.seconds : 0;
    ctx.log(`  ${system.label}: serial reader${announced ? ' of an announced list' : ''}: ${fmt(filesPerSecond)} files/s (${r.items} files)`);
    return { announced, files: r.items, filesPerSecond, ...(announceSeconds === undefined ? {} : { announceSeconds }), errors: r.errors, cost };
  } finally {
    await opened.close();
  }
}

interface ReadFigures { bytesServed: number; bytesServedFromCache: number }

async function readFigures(root: string, ctx: RunContext): Promise<ReadFigures> {
  const out = await execFileAsync(process.execPath, [join(ctx.system.repoRoot, 'dist', 'cli.js'), 'stats', root, '--json'], { timeout: 30_000 });
  const s = JSON.parse(out.stdout) as { reads: ReadFigures };
  return { bytesServed: s.reads.bytesServed, bytesServedFromCache: s.reads.bytesServedFromCache };
}

async function pressureRuns(system: BenchSystem, data: PreparedDatasets, files: readonly string[], ctx: RunContext): Promise<NonNullable<PrefetchResult['pressure']>> {
  const datasetBytes = data.summary.imageBytes;
  const cacheBytes = Math.floor(datasetBytes / 2);
  const epochs: PressureEpoch[] = [];
  for (const prefetch of [true, false]) {
    const variant: MountVariant = {
      name: `s3cachefs-pressure${prefetch ? '' : '-noprefetch'}`,
      label: `s3cachefs, cache ½ dataset${prefetch ? '' : ', no prefetch'}`,
      mountArgs: ['--cache-size', String(cacheBytes), '--memory-cache-size', PRESSURE_MEMORY_CACHE, ...(prefetch ? [] : ['--prefetch-after', 'off'])],
    };
    const opened = await system.openCold(data.images, ctx.system, variant);
    try {
      const view = opened.view;
      if (view.kind !== 'fs') throw new Error('not a filesystem view');
      let before = await readFigures(view.root, ctx);
      for (let e = 1; e <= Math.max(2, ctx.epochs); e++) {
        const r = await runEpoch(e, files, view, ctx);
        const after = await readFigures(view.root, ctx);
        const served = after.bytesServed - before.bytesServed;
        const hitRatio = served > 0 ? (after.bytesServedFromCache - before.bytesServedFromCache) / served : 0;
        before = after;
        const gets = r.cost.requests.GET + r.cost.requests.GET_RANGE;
        epochs.push({ prefetch, epoch: e, imagesPerSecond: r.imagesPerSecond, hitRatio, gets });
        ctx.log(`  ${variant.label}: epoch ${e}: hit ratio ${(hitRatio * 100).toFixed(1)} %, ${fmt(r.imagesPerSecond)} images/s, ${gets} GETs`);
      }
    } finally {
      await opened.close();
    }
  }
  return { cacheBytes, datasetBytes, epochs };
}
