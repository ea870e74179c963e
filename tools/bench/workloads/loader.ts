// The reference loader workload: the file list is taken through the view
// (a directory walk, as ImageFolder does, or LIST pages for direct GETs);
// then for each epoch the page cache is dropped, the list is shuffled with
// the epoch's seed (the same order for every system), split evenly over P
// worker processes, and each worker reads its share in batches with a fake
// training step after each batch. Throughput is images/s per process summed
// over processes, as published, plus wall-clock images/s and MB/s.
import http from 'node:http';
import { join } from 'node:path';
import { Prng } from '../dataset/prng.js';
import { listAllKeys } from '../link/s3-http.js';
import type { EpochResult, LoaderResult, PhaseCost } from '../results.js';
import type { BenchSystem, DatasetLocation, View } from '../systems/system.js';
import type { WorkerJob } from '../workers/jobs.js';
import { runWorkers } from '../workers/worker-pool.js';
import { fmt, startPhase, type RunContext } from './run-context.js';

/** Even split: worker i gets items i*n/P up to (i+1)*n/P. */
export function splitEvenly<T>(items: readonly T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, i) => items.slice(Math.floor((i * items.length) / parts), Math.floor(((i + 1) * items.length) / parts)));
}

async function listFiles(view: View, ctx: RunContext): Promise<{ files: string[]; seconds: number; cost: PhaseCost }> {
  const { meter } = startPhase(ctx, view);
  if (view.kind === 'fs') {
    const run = await runWorkers([{ kind: 'list-tree', root: view.root }], ctx.cleanup, ctx.phaseTimeoutMs);
    const r = run.results[0];
    if (r === undefined || r.errors > 0) throw new Error(`listing ${view.root} failed: ${r?.firstError ?? 'no result'}`);
    return { files: (r.paths ?? []).filter((p) => p.endsWith('.JPEG')), seconds: run.wallSeconds, cost: meter.stop() };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const started = performance.now();
  try {
    const { keys } = await listAllKeys({ endpoint: view.endpoint, bucket: view.bucket }, view.prefix, agent);
    const files = keys.filter((k) => k.endsWith('.JPEG')).map((k) => k.slice(view.prefix.length));
    return { files: files.sort(), seconds: (performance.now() - started) / 1000, cost: meter.stop() };
  } finally {
    agent.destroy();
  }
}

function epochJobs(view: View, shares: string[][], ctx: RunContext): WorkerJob[] {
  return shares.map((share): WorkerJob => {
    if (view.kind === 'fs') return { kind: 'read-files', paths: share.map((p) => join(view.root, p)), batch: ctx.batch, stepS: ctx.stepSeconds };
    // One GET at a time per worker: the same concurrency as P loader processes.
    return { kind: 'get-keys', endpoint: view.endpoint, bucket: view.bucket, keys: share.map((p) => view.prefix + p), batch: ctx.batch, stepS: ctx.stepSeconds, concurrency: 1 };
  });
}

export async function runEpoch(epoch: number, files: readonly string[], view: View, ctx: RunContext): Promise<EpochResult> {
  const order = new Prng(`${ctx.seed}:epoch:${epoch}`).shuffle([...files]);
  const jobs = epochJobs(view, splitEvenly(order, ctx.workers), ctx);
  const { meter, dropped } = startPhase(ctx, view);
  const run = await runWorkers(jobs, ctx.cleanup, ctx.phaseTimeoutMs);
  const cost = meter.stop();
  const images = run.results.reduce((s, r) => s + r.items, 0);
  const bytes = run.results.reduce((s, r) => s + r.bytes, 0);
  const errors = run.results.reduce((s, r) => s + r.errors, 0);
  const firstError = run.results.find((r) => r.firstError !== undefined)?.firstError;
  const result: EpochResult = {
    epoch,
    images,
    bytes,
    wallSeconds: run.wallSeconds,
    imagesPerSecond: run.results.reduce((s, r) => s + (r.seconds > 0 ? r.items / r.seconds : 0), 0),
    wallImagesPerSecond: images / run.wallSeconds,
    megabytesPerSecond: bytes / run.wallSeconds / 1e6,
    errors,
    pageCacheDropped: dropped,
    cost,
  };
  return firstError === undefined ? result : { ...result, firstError };
}

export async function runLoader(system: BenchSystem, ds: DatasetLocation, ctx: RunContext): Promise<LoaderResult> {
  const opened = await system.openCold(ds, ctx.system);
  try {
    const listing = await listFiles(opened.view, ctx);
    ctx.log(`  ${system.label}: listed ${fmt(listing.files.length)} files in ${fmt(listing.seconds, 1)} s`);
    if (listing.files.length === 0) throw new Error('the listing found no .JPEG files');
    const epochs = system.measureEveryEpoch ? ctx.epochs : 1;
    const results: EpochResult[] = [];
    for (let e = 1; e <= epochs; e++) {
      const r = await runEpoch(e, listing.files, opened.view, ctx);
      results.push(r);
      const errs = r.errors > 0 ? `, ${r.errors} errors (${r.firstError ?? ''})` : '';
      ctx.log(`  ${system.label}: epoch ${e}: ${fmt(r.imagesPerSecond)} images/s, ${fmt(r.megabytesPerSecond, 1)} MB/s, ${fmt(r.wallSeconds, 1)} s${errs}`);
    }
    return { listSeconds: listing.seconds, listedFiles: listing.files.length, listCost: listing.cost, epochs: results };
  } finally {
    await opened.close();
  }
}
