// The large-shard workload: one big object read sequentially with 1 MiB
// reads (a WebDataset/TFRecord reader), cold (fresh mount, empty cache) and
// warm (same mount, page cache dropped), then 4 readers at different offsets
// (each a quarter of the file) on a fresh mount, cold and warm. For direct
// GETs the same bytes are fetched as parallel 8 MiB ranged GETs.
import { join } from 'node:path';
import type { ShardResult, ShardRun, ShardRunName } from '../results.js';
import type { BenchSystem, DatasetLocation, View } from '../systems/system.js';
import type { WorkerJob } from '../workers/jobs.js';
import { runWorkers } from '../workers/worker-pool.js';
import { fmt, startPhase, type RunContext } from './run-context.js';

/** read(2) size of a buffered shard reader. */
const READ_BLOCK_BYTES = 1 << 20;
/** Ranged GET size for the direct limit: S3's guidance is 8-16 MiB per request. */
const RANGE_BYTES = 8 << 20;
/** Ranged GETs in flight for the direct limit: enough to fill several 80 MB/s flows. */
const DIRECT_CONCURRENCY = 16;
const PARALLEL_READERS = 4;

function jobsFor(view: View, key: string, shardBytes: number, readers: number): WorkerJob[] {
  return Array.from({ length: readers }, (_, i): WorkerJob => {
    const offset = Math.floor((i * shardBytes) / readers);
    const length = Math.floor(((i + 1) * shardBytes) / readers) - offset;
    if (view.kind === 'fs') return { kind: 'read-range', path: join(view.root, key), offset, length, blockBytes: READ_BLOCK_BYTES };
    return { kind: 'get-ranges', endpoint: view.endpoint, bucket: view.bucket, key: view.prefix + key, offset, length, blockBytes: RANGE_BYTES, concurrency: Math.ceil(DIRECT_CONCURRENCY / readers) };
  });
}

async function measure(name: ShardRunName, readers: number, view: View, key: string, shardBytes: number, ctx: RunContext): Promise<ShardRun> {
  const { meter } = startPhase(ctx, view);
  const run = await runWorkers(jobsFor(view, key, shardBytes, readers), ctx.cleanup, ctx.phaseTimeoutMs);
  const cost = meter.stop();
  const bytes = run.results.reduce((s, r) => s + r.bytes, 0);
  const errors = run.results.reduce((s, r) => s + r.errors, 0);
  const firstError = run.results.find((r) => r.firstError !== undefined)?.firstError;
  const r: ShardRun = { name, readers, bytes, seconds: run.wallSeconds, megabytesPerSecond: bytes / run.wallSeconds / 1e6, errors, cost };
  return firstError === undefined ? r : { ...r, firstError };
}

export async function runShard(system: BenchSystem, ds: DatasetLocation, key: string, shardBytes: number, ctx: RunContext): Promise<ShardResult> {
  const runs: ShardRun[] = [];
  for (const [readers, cold, warm] of [[1, 'cold-seq', 'warm-seq'], [PARALLEL_READERS, 'cold-par4', 'warm-par4']] as const) {
    const opened = await system.openCold(ds, ctx.system);
    try {
      for (const name of [cold, warm]) {
        const r = await measure(name, readers, opened.view, key, shardBytes, ctx);
        runs.push(r);
        const errs = r.errors > 0 ? `, ${r.errors} errors (${r.firstError ?? ''})` : '';
        ctx.log(`  ${system.label}: shard ${name}: ${fmt(r.megabytesPerSecond)} MB/s in ${fmt(r.seconds, 1)} s${errs}`);
      }
    } finally {
      await opened.close();
    }
  }
  return { runs };
}
