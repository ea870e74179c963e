// Runs every selected workload on one system and collects the results. A
// workload that fails (a mount that does not come up, a reader that errors)
// is recorded with its message and the next workload still runs; only an
// interruption (Ctrl-C) stops the whole run.
import type { PreparedDatasets } from '../dataset/prepare.js';
import { WORKLOADS, type Workload } from '../options.js';
import { emptyCost } from '../env/phase-meter.js';
import type { SystemResult } from '../results.js';
import type { BenchSystem } from '../systems/system.js';
import { runLoader } from './loader.js';
import { runMetadata } from './metadata.js';
import { runNodes } from './nodes.js';
import { runPrefetchTargets } from './prefetch-targets.js';
import type { RunContext } from './run-context.js';
import { runShard } from './shard.js';
import { runTorchLoader } from './torch-loader.js';
import { runWrites } from './writes.js';

export function errorMessage(err: unknown): string {
  return ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'unknown error';
}

/** Runs `fn`; on failure logs it and returns `onError(message)`, unless the run was interrupted. */
async function attempt<T>(ctx: RunContext, what: string, fn: () => Promise<T>, onError: (message: string) => T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (ctx.cleanup.aborted) throw err;
    ctx.log(`  ${what} failed: ${errorMessage(err)}`);
    return onError(errorMessage(err));
  }
}

export async function runSystem(
  system: BenchSystem,
  data: PreparedDatasets,
  ctx: RunContext,
  selectedSkip: ReadonlySet<Workload>,
  torch: { readonly ok: boolean; readonly note: string },
): Promise<SystemResult> {
  ctx.cleanup.throwIfAborted();
  const only = system.workloads;
  const skip: ReadonlySet<Workload> = only === undefined ? selectedSkip : new Set([...WORKLOADS.filter((w) => !only.includes(w)), ...selectedSkip]);
  ctx.log(`system ${system.label}`);
  const result: SystemResult = { name: system.name, label: system.label, role: system.role, ...(system.workloads === undefined ? {} : { workloads: system.workloads }) };
  const name = system.label;
  if (!skip.has('loader')) {
    result.loader = await attempt(ctx, `${name}: loader`, () => runLoader(system, data.images, ctx), (error) => ({ listSeconds: NaN, listedFiles: 0, listCost: emptyCost(), epochs: [], error }));
  }
  // The PyTorch variant reads through a filesystem; direct GETs have none.
  if (!skip.has('torch') && system.name !== 'direct') {
    result.torch = torch.ok
      ? await attempt(ctx, `${name}: PyTorch`, () => runTorchLoader(system, data.images, ctx), (error) => ({ ran: false, note: `PyTorch variant failed: ${error}` }))
      : { ran: false, note: torch.note };
  }
  if (!skip.has('shard')) {
    result.shard = await attempt(ctx, `${name}: shard`, () => runShard(system, data.shard, { key: data.shardKey, bytes: data.summary.shardBytes, random: data.shardRandom }, ctx), (error) => ({ runs: [], error }));
  }
  if (!skip.has('metadata')) {
    result.metadata = await attempt(ctx, `${name}: metadata`, () => runMetadata(system, data.metadata, ctx), (error) => ({ runs: [], error }));
  }
  // Writes go through a filesystem too; the direct-GET limit has none, and the FUSE ceiling is a read reference.
  const writeSources = data.writes;
  if (!skip.has('writes') && system.readOnly !== true && writeSources !== undefined) {
    result.writes = await attempt(ctx, `${name}: writes`, () => runWrites(system, writeSources, ctx), (error) => ({ rows: [], error }));
  }
  // Two nodes of one system sharing a cache tier: only systems that have one (s3cachefs).
  if (!skip.has('nodes') && system.nodeVariant !== undefined) {
    result.nodes = await attempt(ctx, `${name}: nodes`, () => runNodes(system, data.images, ctx), (error) => ({ files: 0, scenarios: [], error }));
  }
  // The serial announced reader and the cache-pressure hit ratio: s3cachefs's own prefetch.
  if (!skip.has('prefetch') && system.name === 's3cachefs') {
    result.prefetch = await attempt(ctx, `${name}: prefetch`, () => runPrefetchTargets(system, data, ctx), (error) => ({ ttfbMs: ctx.link.options.ttfbMs, error }));
  }
  const notes = system.notes?.() ?? [];
  if (notes.length > 0) result.notes = [...notes];
  return result;
}
