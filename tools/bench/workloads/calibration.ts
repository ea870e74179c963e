// Measures what the emulated link and the server actually deliver, so the
// report's limits can be trusted: the latency of a tiny GET through the link
// and straight to the server (the difference is the added TTFB), one
// connection's bandwidth after its first byte, and how many GETs/s the server
// sustains with many requests in flight (s3rver spends ~2 ms of CPU per small
// GET, which on 2 cores caps any cold epoch measured here).
import http from 'node:http';
import { ProcSampler } from '../env/proc-stats.js';
import { s3Request, type S3Target } from '../link/s3-http.js';
import type { LinkMeasurement } from '../results.js';
import type { WorkerJob } from '../workers/jobs.js';
import { runWorkers } from '../workers/worker-pool.js';
import type { RunContext } from './run-context.js';

/** Long enough to average out timer jitter, short enough for --quick. */
const LATENCY_PROBE_MS = 1500;
const CAPACITY_PROBE_MS = 3000;
/** Two worker processes with 32 GETs in flight each: far beyond what the server can serve. */
const CAPACITY_WORKERS = 2;
const CAPACITY_LANES_PER_WORKER = 32;

export interface CalibrationInput {
  readonly serverEndpoint: string;
  readonly bucket: string;
  readonly tinyKey: string;
  readonly blobKey: string;
  readonly imageKeys: readonly string[];
}

async function meanGetMs(endpoint: string, input: CalibrationInput, ctx: RunContext): Promise<number> {
  const job: WorkerJob = { kind: 'timed-gets', endpoint, bucket: input.bucket, keys: [input.tinyKey], concurrency: 1, durationMs: LATENCY_PROBE_MS };
  const r = (await runWorkers([job], ctx.cleanup, ctx.phaseTimeoutMs)).results[0];
  if (r === undefined || r.items === 0) throw new Error(`latency probe failed: ${r?.firstError ?? 'no result'}`);
  return (r.seconds * 1000) / r.items;
}

async function singleConnectionMBps(input: CalibrationInput, ctx: RunContext): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const target: S3Target = { endpoint: ctx.link.endpoint, bucket: input.bucket };
    const res = await s3Request(target, { method: 'GET', key: input.blobKey }, agent);
    return res.bodyBytes / ((res.totalMs - res.ttfbMs) / 1000) / 1e6;
  } finally {
    agent.destroy();
  }
}

async function capacity(endpoint: string, input: CalibrationInput, ctx: RunContext): Promise<{ gets: number; mbps: number; serverCpu: number }> {
  const keys = input.imageKeys.slice(0, 2000);
  const jobs: WorkerJob[] = Array.from({ length: CAPACITY_WORKERS }, (_, i) => ({
    kind: 'timed-gets',
    endpoint,
    bucket: input.bucket,
    keys: keys.slice(i * 7).concat(keys.slice(0, i * 7)),
    concurrency: CAPACITY_LANES_PER_WORKER,
    durationMs: CAPACITY_PROBE_MS,
  }));
  const sampler = ctx.serverPid === undefined ? undefined : new ProcSampler(ctx.serverPid);
  const run = await runWorkers(jobs, ctx.cleanup, ctx.phaseTimeoutMs);
  const cpu = sampler?.stop().cpuSeconds ?? Number.NaN;
  const items = run.results.reduce((s, r) => s + r.items, 0);
  const bytes = run.results.reduce((s, r) => s + r.bytes, 0);
  return { gets: items / run.wallSeconds, mbps: bytes / run.wallSeconds / 1e6, serverCpu: cpu / run.wallSeconds };
}

export async function measureLink(input: CalibrationInput, ctx: RunContext): Promise<LinkMeasurement> {
  const opts = ctx.link.options;
  const tinyGetMsViaLink = await meanGetMs(ctx.link.endpoint, input, ctx);
  const tinyGetMsDirect = await meanGetMs(input.serverEndpoint, input, ctx);
  const singleConnectionMegabytesPerSecond = await singleConnectionMBps(input, ctx);
  const viaLink = await capacity(ctx.link.endpoint, input, ctx);
  const direct = await capacity(input.serverEndpoint, input, ctx);
  return {
    configured: { ttfbMs: opts.ttfbMs, megabytesPerSecond: opts.bytesPerSecond / 1e6 },
    tinyGetMsViaLink,
    tinyGetMsDirect,
    singleConnectionMegabytesPerSecond,
    serverCapacity: {
      concurrency: CAPACITY_WORKERS * CAPACITY_LANES_PER_WORKER,
      getsPerSecondViaLink: viaLink.gets,
      getsPerSecondDirect: direct.gets,
      serverCpuUtilisation: viaLink.serverCpu,
      megabytesPerSecondViaLink: viaLink.mbps,
    },
  };
}
