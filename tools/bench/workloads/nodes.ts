// The many-nodes workload (issue 13): two mounts of the image bucket on this
// machine stand for two nodes, each with its own cache directory and its own
// emulated link (node A the harness's link, node B a second one with the same
// latency and bandwidth), so each node's requests are counted apart; the link
// also counts by bucket, so the shared tier (a second bucket on the same S3
// server, reached through the same link) is told apart from the origin.
// Scenarios (results.ts, NODES_SCENARIOS), each on fresh caches and a fresh
// tier prefix:
//  - sequential: A reads the dataset cold, then B, without a tier;
//  - sequential-tier: the same with --shared-cache;
//  - concurrent-tier: A and B read it at the same time, with the tier;
//  - concurrent-redis: the same with --coordinator on Debian's redis-server.
// Each node walks its tree first (as ImageFolder does), then reads the files
// with the loader's reader (P processes, read-files jobs), the page cache
// dropped before each. Both nodes read the same shuffled order, split the same
// way, so in the concurrent scenarios their readers ask for the same file at
// about the same moment: the case cross-node single-flight exists for. A
// node's requests are counted from its walk until its tier writes are done
// (the daemon's queue empty); a sequential B starts after A was unmounted.
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Prng } from '../dataset/prng.js';
import { createBucket } from '../dataset/upload.js';
import { dropPageCache } from '../env/page-cache.js';
import { PhaseMeter } from '../env/phase-meter.js';
import { startRedis, redisAvailable, type RunningRedis } from '../env/redis-server.js';
import { bucketRequests, LinkEmulator } from '../link/link-emulator.js';
import { NODES_SCENARIOS, type NodeRun, type NodesResult, type NodesScenario, type NodesScenarioResult } from '../results.js';
import type { BenchSystem, DatasetLocation, OpenView, SharedTierFigures, SystemContext } from '../systems/system.js';
import type { WorkerJob, WorkerResult } from '../workers/jobs.js';
import { runWorkers } from '../workers/worker-pool.js';
import { deletePrefix } from './bucket-check.js';
import { splitEvenly } from './loader.js';
import { fmt, type RunContext } from './run-context.js';

/** The shared tier's bucket on the bench's S3 server; each scenario of each run writes under its own prefix. */
export const TIER_BUCKET = 'bench-tier';
const RUN_TAG = `n${Date.now().toString(36)}`;
/** A node's queued tier writes (at most 64 blocks) land within seconds; past this, its counts are taken as they are. */
const SETTLE_TIMEOUT_MS = 60_000;
const SETTLE_POLL_MS = 200;

export const SCENARIO_SPECS: Record<NodesScenario, { readonly concurrent: boolean; readonly tier: boolean; readonly coordinator: boolean }> = {
  sequential: { concurrent: false, tier: false, coordinator: false },
  'sequential-tier': { concurrent: false, tier: true, coordinator: false },
  'concurrent-tier': { concurrent: true, tier: true, coordinator: false },
  'concurrent-redis': { concurrent: true, tier: true, coordinator: true },
};

export function tierPrefix(scenario: NodesScenario): string {
  return `${RUN_TAG}/${scenario}/`;
}

interface Session {
  readonly node: 'A' | 'B';
  readonly opened: OpenView;
  readonly root: string;
  readonly link: LinkEmulator;
  readonly meter: PhaseMeter;
}

/** A node's figures from its reader processes' results (the loader's measures). */
export function nodeFigures(results: readonly WorkerResult[]): Pick<NodeRun, 'images' | 'bytes' | 'wallSeconds' | 'imagesPerSecond' | 'megabytesPerSecond' | 'errors' | 'firstError'> {
  const images = results.reduce((s, r) => s + r.items, 0);
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  const wallSeconds = results.reduce((m, r) => Math.max(m, r.seconds), 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    images,
    bytes,
    wallSeconds,
    imagesPerSecond: results.reduce((s, r) => s + (r.seconds > 0 ? r.items / r.seconds : 0), 0),
    megabytesPerSecond: wallSeconds > 0 ? bytes / wallSeconds / 1e6 : 0,
    errors: results.reduce((s, r) => s + r.errors, 0),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** Waits until the daemon's tier write queue is empty (bounded); its last figures. */
async function settle(opened: OpenView): Promise<SharedTierFigures | undefined> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const stats = await opened.sharedTierStats?.();
    if (stats === undefined || stats.writesQueued === 0 || Date.now() > deadline) return stats;
    await sleep(SETTLE_POLL_MS);
  }
}

interface Nodes {
  readonly system: BenchSystem;
  readonly ds: DatasetLocation;
  readonly links: Record<'A' | 'B', LinkEmulator>;
  readonly ctx: RunContext;
}

async function open(n: Nodes, node: 'A' | 'B', scenario: NodesScenario, redis: RunningRedis | undefined): Promise<Session> {
  const spec = SCENARIO_SPECS[scenario];
  const variant = n.system.nodeVariant?.({
    node,
    ...(spec.tier ? { sharedCache: `s3://${TIER_BUCKET}/${tierPrefix(scenario).replace(/\/$/, '')}` } : {}),
    ...(redis === undefined ? {} : { coordinator: redis.url }),
  });
  const sys: SystemContext = { ...n.ctx.system, link: n.links[node] };
  const opened = await n.system.openCold(n.ds, sys, variant);
  if (opened.view.kind !== 'fs') {
    await opened.close();
    throw new Error('the many-nodes workload needs a filesystem view');
  }
  // Started after the mount: its start-up requests (the tier probe) are not the reads'.
  return { node, opened, root: opened.view.root, link: n.links[node], meter: new PhaseMeter(n.links[node], opened.view.daemonPid, n.ctx.serverPid) };
}

/** Walks every node's tree at once, then reads the same shuffled list on every node at once. */
async function readTogether(sessions: readonly Session[], n: Nodes): Promise<WorkerResult[][]> {
  dropPageCache();
  const walked = await runWorkers(sessions.map((s): WorkerJob => ({ kind: 'list-tree', root: s.root })), n.ctx.cleanup, n.ctx.phaseTimeoutMs);
  const lists = walked.results.map((r) => (r.paths ?? []).filter((p) => p.endsWith('.JPEG')));
  const failed = walked.results.find((r) => r.errors > 0);
  if (failed !== undefined) throw new Error(`listing failed: ${failed.firstError ?? '?'}`);
  const files = lists[0] ?? [];
  if (files.length === 0 || lists.some((l) => l.length !== files.length)) throw new Error(`the nodes listed ${lists.map((l) => l.length).join(' and ')} .JPEG files`);
  const order = new Prng(`${n.ctx.seed}:nodes`).shuffle([...files]);
  const shares = splitEvenly(order, n.ctx.workers);
  const jobs = sessions.flatMap((s) => shares.map((share): WorkerJob => ({ kind: 'read-files', paths: share.map((p) => join(s.root, p)), batch: n.ctx.batch, stepS: n.ctx.stepSeconds })));
  dropPageCache();
  const run = await runWorkers(jobs, n.ctx.cleanup, n.ctx.phaseTimeoutMs);
  return sessions.map((_, i) => run.results.slice(i * shares.length, (i + 1) * shares.length));
}

/** Lets every node's tier writes land, then takes its counts. */
async function finish(s: Session, readers: readonly WorkerResult[], n: Nodes): Promise<NodeRun> {
  const tier = await settle(s.opened).catch(() => undefined);
  const counters = s.link.counters();
  const cost = s.meter.stop();
  const run: NodeRun = {
    node: s.node,
    ...nodeFigures(readers),
    originRequests: bucketRequests(counters, n.ds.bucket),
    tierRequests: bucketRequests(counters, TIER_BUCKET),
    cost,
  };
  if (tier === undefined) return run;
  const { writesQueued: _queued, ...figures } = tier;
  return { ...run, tier: figures };
}

function logRun(scenario: NodesScenario, r: NodeRun, n: Nodes): void {
  const gets = (c: NodeRun['originRequests']): number => c.GET + c.GET_RANGE;
  const errs = r.errors > 0 ? `, ${r.errors} errors (${r.firstError ?? ''})` : '';
  n.ctx.log(`  ${n.system.label} nodes ${scenario}: node ${r.node}: ${fmt(r.imagesPerSecond)} images/s, ${fmt(r.wallSeconds, 1)} s, origin GETs ${fmt(gets(r.originRequests))}, tier GETs ${fmt(gets(r.tierRequests))}, tier PUTs ${fmt(r.tierRequests.PUT)}${errs}`);
}

async function runScenario(scenario: NodesScenario, n: Nodes): Promise<NodeRun[]> {
  const spec = SCENARIO_SPECS[scenario];
  let redis: RunningRedis | undefined;
  const sessions: Session[] = [];
  try {
    if (spec.coordinator) {
      if (!redisAvailable()) throw new Error('redis-server is not installed (apt-get install redis-server)');
      redis = await startRedis(join(n.ctx.system.workDir, `redis-${scenario}`), n.ctx.cleanup);
    }
    const runs: NodeRun[] = [];
    const groups: ('A' | 'B')[][] = spec.concurrent ? [['A', 'B']] : [['A'], ['B']];
    for (const group of groups) {
      for (const node of group) sessions.push(await open(n, node, scenario, redis));
      const active = sessions.slice(-group.length);
      const readers = await readTogether(active, n);
      const done = await Promise.all(active.map((s, i) => finish(s, readers[i] ?? [], n)));
      // A sequential B starts once A is gone: its unmount also waits for every tier write.
      for (const s of active) await s.opened.close();
      for (const r of done) {
        logRun(scenario, r, n);
        runs.push(r);
      }
    }
    return runs;
  } finally {
    for (const s of sessions) await s.opened.close();
    await redis?.stop();
  }
}

/** Not measured: the next scenario (and run) must start from an empty tier prefix, and the server's directory must not grow. */
async function dropTier(scenario: NodesScenario, ctx: RunContext): Promise<void> {
  if (!SCENARIO_SPECS[scenario].tier) return;
  await deletePrefix({ endpoint: ctx.serverEndpoint, bucket: TIER_BUCKET }, tierPrefix(scenario)).catch((err: unknown) => ctx.log(`  could not delete the tier prefix ${tierPrefix(scenario)}: ${(err as Error).message}`));
}

export async function runNodes(system: BenchSystem, ds: DatasetLocation, ctx: RunContext): Promise<NodesResult> {
  if (system.nodeVariant === undefined) throw new Error(`${system.label} has no shared tier`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await createBucket({ endpoint: ctx.serverEndpoint, bucket: TIER_BUCKET }, agent);
  } finally {
    agent.destroy();
  }
  const linkB = await LinkEmulator.start(ctx.link.options);
  const closeLinkB = ctx.cleanup.add('emulated link of node B', () => linkB.close());
  const n: Nodes = { system, ds, links: { A: ctx.link, B: linkB }, ctx };
  const scenarios: NodesScenarioResult[] = [];
  try {
    for (const scenario of NODES_SCENARIOS) {
      ctx.cleanup.throwIfAborted();
      const spec = SCENARIO_SPECS[scenario];
      try {
        scenarios.push({ scenario, ...spec, runs: await runScenario(scenario, n) });
      } catch (err) {
        if (ctx.cleanup.aborted) throw err;
        const error = ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'unknown error';
        ctx.log(`  ${system.label} nodes ${scenario} failed: ${error}`);
        scenarios.push({ scenario, ...spec, runs: [], error });
      } finally {
        await dropTier(scenario, ctx);
      }
    }
  } finally {
    await closeLinkB();
  }
  // Every node reads the whole listing: read plus failed is the dataset's size.
  const files = scenarios.flatMap((s) => s.runs).reduce((m, r) => Math.max(m, r.images + r.errors), 0);
  return { files, scenarios };
}
