// The project's performance targets, evaluated on a results object: each
// target names what is divided by what, the threshold, and the measured
// ratio for every candidate system (s3cachefs, and any other caching mount
// added as a candidate), followed by informational ratios against every peer
// (rclone mount). A target over several runs (both thread counts, every warm
// shard run, both write tests) takes the smallest ratio and names each in its
// note. A missing side (system not run, failed, skipped) yields "n/a", never
// a made-up number.
import type { BenchResults, ShardRun, ShardRunName, SystemResult, WriteRun, WriteTest } from '../results.js';
import { MiB, n, sizeLabel } from './md-table.js';
import { gets, nodeRun, originGetsPerFile } from './nodes-section.js';
import { systemPhases } from './phases.js';
import { prefetchTargetRows } from './prefetch-section.js';
export { prefetchWorkload } from './prefetch-section.js';

export interface TargetRow {
  readonly system: string;
  readonly metric: string;
  readonly against: string;
  readonly ratio: number | null;
  /** null: informational (published figure shown, no pass/fail). */
  readonly target: number | null;
  readonly note?: string;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function byName(results: BenchResults, name: string): SystemResult | undefined {
  return results.systems.find((s) => s.name === name && s.error === undefined);
}

function epochRate(s: SystemResult | undefined, epoch: number): number | null {
  const e = s?.loader?.epochs.find((x) => x.epoch === epoch);
  return e === undefined || e.images === 0 ? null : e.imagesPerSecond;
}

function warmRates(s: SystemResult | undefined): number[] {
  return (s?.loader?.epochs ?? []).filter((e) => e.epoch > 1 && e.images > 0).map((e) => e.imagesPerSecond);
}

/** A shard run that completed without errors. */
function goodShardRun(s: SystemResult | undefined, name: string): ShardRun | undefined {
  const r = s?.shard?.runs.find((x) => x.name === name);
  return r === undefined || r.errors > 0 ? undefined : r;
}

function shardRate(s: SystemResult | undefined, name: string): number | null {
  return goodShardRun(s, name)?.megabytesPerSecond ?? null;
}

function metaRate(s: SystemResult | undefined, op: string, state: string): number | null {
  const r = s?.metadata?.runs.find((x) => x.op === op && x.state === state);
  return r === undefined || r.error !== undefined ? null : r.entriesPerSecond;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || !(b > 0) ? null : a / b;
}

/** A ratio made of parts that must all hold: the smallest part decides, and every part is named in the note. */
interface RatioPart {
  readonly what: string;
  readonly ratio: number | null;
  /** Which system the part was measured against, when it varies (the best peer). */
  readonly vs?: string;
}

function allOf(parts: readonly RatioPart[]): { ratio: number | null; note: string } {
  const ratios = parts.map((p) => p.ratio);
  const ratio = ratios.some((x) => x === null) ? null : Math.min(...(ratios as number[]));
  return { ratio, note: parts.map((p) => `${p.what} ${p.ratio === null ? 'n/a' : `${p.ratio.toFixed(2)}×`}${p.ratio !== null && p.vs ? ` vs ${p.vs}` : ''}`).join('; ') };
}

const RANDOM_RUNS: Record<'cold' | 'warm', readonly (readonly [ShardRunName, string])[]> = {
  cold: [['cold-rand', '1 thread'], ['cold-rand4', '4 threads']],
  warm: [['warm-rand', '1 thread'], ['warm-rand4', '4 threads']],
};
const WARM_SHARD_RUNS: readonly (readonly [ShardRunName, string])[] = [['warm-seq', 'sequential'], ['warm-par4', '4 readers'], ['warm-rand', 'random'], ['warm-rand4', 'random 4 threads']];

/** The fastest of the systems a candidate must beat (baseline and peers: s3fs-fuse, rclone mount) on one shard run. */
function bestPeerShard(results: BenchResults, name: ShardRunName): { label: string; rate: number } | null {
  let best: { label: string; rate: number } | null = null;
  for (const s of results.systems.filter((x) => (x.role === 'baseline' || x.role === 'peer') && x.error === undefined)) {
    const rate = shardRate(s, name);
    if (rate !== null && (best === null || rate > best.rate)) best = { label: s.label, rate };
  }
  return best;
}

/**
 * The caveat for a "from the disk cache" target when the data read fits the
 * candidate's in-memory block cache (s3cachefs's; other candidates: unknown).
 */
function memoryCaveat(results: BenchResults, c: SystemResult, dataBytes: number): string | undefined {
  const mem = results.settings.s3cachefsMemoryCacheBytes;
  if (c.name !== 's3cachefs' || mem === undefined || dataBytes > mem) return undefined;
  return `the data (${n(dataBytes / 1e6)} MB) fits the ${sizeLabel(mem)} memory cache, so warm reads may come from memory, not the disk cache`;
}

function withCaveat(note: string | undefined, caveat: string | undefined): { note?: string } {
  const text = [note, caveat].filter((x) => x !== undefined).join('; ');
  return text === '' ? {} : { note: text };
}

/**
 * Random 256 KiB reads of the shard: cold against the best peer, warm against
 * local disk, both thread counts (the target asks for both); and every warm
 * shard run against the FUSE ceiling.
 */
function shardReadTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const sys = byName(results, c.name);
  const local = byName(results, 'local');
  const ceiling = byName(results, 'passthrough');
  const peers = results.systems.filter((s) => s.role === 'baseline' || s.role === 'peer').map((s) => s.label);
  const cold = allOf(RANDOM_RUNS.cold.map(([name, what]) => {
    const best = bestPeerShard(results, name);
    return { what, ratio: ratio(shardRate(sys, name), best?.rate ?? null), ...(best === null ? {} : { vs: best.label }) };
  }));
  const warm = allOf(RANDOM_RUNS.warm.map(([name, what]) => ({ what, ratio: ratio(shardRate(sys, name), shardRate(local, name)) })));
  const fuse = allOf(WARM_SHARD_RUNS.map(([name, what]) => ({ what, ratio: ratio(shardRate(sys, name), shardRate(ceiling, name)) })));
  return [
    { system: c.label, metric: 'shard random 256 KiB reads cold MB/s', against: `best peer (${peers.join(', ') || 'none ran'}), per thread count`, ratio: cold.ratio, target: 1, note: `1 and 4 threads; ${cold.note}` },
    { system: c.label, metric: 'shard random 256 KiB reads warm MB/s', against: 'local disk, per thread count', ratio: warm.ratio, target: 0.8, ...withCaveat(`1 and 4 threads; ${warm.note}`, memoryCaveat(results, c, results.dataset.shardBytes)) },
    { system: c.label, metric: 'shard warm reads MB/s (from the disk cache)', against: 'FUSE ceiling (passthrough_ll), per run', ratio: fuse.ratio, target: 0.9, ...withCaveat(`every warm run; ${fuse.note}`, memoryCaveat(results, c, results.dataset.shardBytes)) },
  ];
}

/** The daemon's CPU seconds per GiB read in one shard run; null without the daemon's figures. */
function cpuPerGiB(s: SystemResult | undefined, name: ShardRunName): number | null {
  const r = goodShardRun(s, name);
  const cpu = r?.cost.daemon?.cpuSeconds;
  return r === undefined || cpu === undefined || !(r.bytes > 0) ? null : cpu / (r.bytes / 2 ** 30);
}

const COLD_SEQUENTIAL_RUNS: readonly (readonly [ShardRunName, string])[] = [['cold-seq', '1 reader'], ['cold-par4', '4 readers']];

/**
 * The shard read cold from start to end (issue 15): against the direct parallel-GET
 * limit (≥ 0.9×) and s3fs-fuse (≥ 1.5×), and the daemon's CPU per GiB at or under
 * rclone mount's (the ratio is rclone's CPU per GiB over the candidate's), one reader and four.
 */
function shardSequentialTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const sys = byName(results, c.name);
  const rclone = byName(results, 'rclone');
  const cpu = allOf(COLD_SEQUENTIAL_RUNS.map(([name, what]) => ({ what, ratio: ratio(cpuPerGiB(rclone, name), cpuPerGiB(sys, name)) })));
  const seq = (against: SystemResult | undefined): number | null => ratio(shardRate(sys, 'cold-seq'), shardRate(against, 'cold-seq'));
  return [
    { system: c.label, metric: 'shard cold sequential MB/s', against: 'direct-GET limit', ratio: seq(byName(results, 'direct')), target: 0.9 },
    { system: c.label, metric: 'shard cold sequential MB/s', against: 's3fs-fuse', ratio: seq(byName(results, 's3fs')), target: 1.5 },
    { system: c.label, metric: 'shard cold sequential, daemon CPU per GiB', against: 'rclone mount (its CPU per GiB ÷ ours), per run', ratio: cpu.ratio, target: 1, note: cpu.note },
  ];
}

function readTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const s3fs = byName(results, 's3fs');
  const local = byName(results, 'local');
  const direct = byName(results, 'direct');
  const ceiling = byName(results, 'passthrough');
  // Local disk reads the same files every epoch: its mean over epochs is the warm limit.
  const localRate = mean((local?.loader?.epochs ?? []).filter((e) => e.images > 0).map((e) => e.imagesPerSecond));
  // The FUSE ceiling reads local disk too: every epoch of it is a warm epoch's ceiling.
  const ceilingRate = mean((ceiling?.loader?.epochs ?? []).filter((e) => e.images > 0).map((e) => e.imagesPerSecond));
  const sys = byName(results, c.name);
  const cold = epochRate(sys, 1);
  const warm = warmRates(sys);
  const minWarm = warm.length === 0 ? null : Math.min(...warm);
  const metaObjects = results.dataset.metadataObjects;
  return [
    { system: c.label, metric: 'cold epoch (1) images/s', against: 's3fs-fuse epoch 1', ratio: ratio(cold, epochRate(s3fs, 1)), target: 9 },
    { system: c.label, metric: 'cold epoch (1) images/s', against: 'direct-GET limit', ratio: ratio(cold, epochRate(direct, 1)), target: 0.8 },
    { system: c.label, metric: 'slowest warm epoch images/s', against: 'local disk (mean of epochs)', ratio: ratio(minWarm, localRate), target: 0.7 },
    { system: c.label, metric: 'slowest warm epoch images/s (from the disk cache)', against: 'FUSE ceiling (passthrough_ll, mean of epochs)', ratio: ratio(minWarm, ceilingRate), target: 0.9, ...withCaveat(undefined, memoryCaveat(results, c, results.dataset.imageBytes)) },
    { system: c.label, metric: 'mean warm epoch images/s', against: 's3fs-fuse mean warm epoch', ratio: ratio(mean(warm), mean(warmRates(s3fs))), target: null, note: 'published: ~9x' },
    { system: c.label, metric: 'mean warm epoch images/s', against: 'its own cold epoch', ratio: ratio(mean(warm), cold), target: null, note: 'published: ~11x' },
    ...shardSequentialTargetRows(results, c),
    { system: c.label, metric: 'shard warm sequential MB/s', against: 'local disk', ratio: ratio(shardRate(sys, 'warm-seq'), shardRate(local, 'warm-seq')), target: null },
    ...shardReadTargetRows(results, c),
    {
      system: c.label,
      metric: `find cold entries/s (${metaObjects.toLocaleString('en-US')} objects)`,
      against: 's3fs-fuse find cold',
      ratio: ratio(metaRate(sys, 'find', 'cold'), metaRate(s3fs, 'find', 'cold')),
      target: 10,
      ...(metaObjects < 100_000 ? { note: 'target is stated for 100k objects' } : {}),
    },
    { system: c.label, metric: 'ls -lR cold entries/s', against: 's3fs-fuse ls -lR cold', ratio: ratio(metaRate(sys, 'ls-lR', 'cold'), metaRate(s3fs, 'ls-lR', 'cold')), target: null },
  ];
}

function torchCold(s: SystemResult | undefined, sampler: boolean): number | null {
  const e = (sampler ? s?.torch?.samplerEpochs : s?.torch?.epochs)?.find((x) => x.epoch === 1);
  return e === undefined ? null : e.imagesPerSecond;
}

/** The PyTorch DataLoader's cold epoch, plain and with the announcing sampler: against rclone mount's and the direct-GET limit. */
function torchTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const sys = byName(results, c.name);
  if (sys?.torch?.ran !== true) return [];
  const rclone = torchCold(byName(results, 'rclone'), false);
  const direct = epochRate(byName(results, 'direct'), 1);
  return ([false, true] as const).filter((sampler) => !sampler || sys.torch?.samplerEpochs !== undefined).flatMap((sampler): TargetRow[] => {
    const metric = `PyTorch DataLoader cold epoch images/s${sampler ? ' (announcing sampler)' : ''}`;
    return [
      { system: c.label, metric, against: 'rclone mount, same loader', ratio: ratio(torchCold(sys, sampler), rclone), target: 2.5 },
      { system: c.label, metric, against: 'direct-GET limit (raw loader)', ratio: ratio(torchCold(sys, sampler), direct), target: 0.8 },
    ];
  });
}

/** The same measures against a peer (rclone mount): informational, no target. */
function peerRows(results: BenchResults, c: SystemResult, p: SystemResult): TargetRow[] {
  const sys = byName(results, c.name);
  const peer = byName(results, p.name);
  const warm = mean(warmRates(sys));
  return [
    { system: c.label, metric: 'cold epoch (1) images/s', against: `${p.label} epoch 1`, ratio: ratio(epochRate(sys, 1), epochRate(peer, 1)), target: null },
    { system: c.label, metric: 'mean warm epoch images/s', against: `${p.label} mean warm epoch`, ratio: ratio(warm, mean(warmRates(peer))), target: null },
    { system: c.label, metric: 'shard cold sequential MB/s', against: p.label, ratio: ratio(shardRate(sys, 'cold-seq'), shardRate(peer, 'cold-seq')), target: null },
    { system: c.label, metric: 'shard warm sequential MB/s', against: p.label, ratio: ratio(shardRate(sys, 'warm-seq'), shardRate(peer, 'warm-seq')), target: null },
    { system: c.label, metric: 'find cold entries/s', against: `${p.label} find cold`, ratio: ratio(metaRate(sys, 'find', 'cold'), metaRate(peer, 'find', 'cold')), target: null },
  ];
}

type WriteTime = 'closeSeconds' | 'durableSeconds';

function writeSeconds(run: WriteRun | undefined, time: WriteTime): number | null {
  const s = run?.[time];
  return s === undefined || s === null || !(s > 0) ? null : s;
}

/** The fastest time of a write test among the systems s3cachefs must beat (baseline and peers: s3fs, rclone). */
function bestPeerWrite(results: BenchResults, test: WriteTest, time: WriteTime): { label: string; seconds: number } | null {
  let best: { label: string; seconds: number } | null = null;
  for (const s of results.systems.filter((x) => (x.role === 'baseline' || x.role === 'peer') && x.error === undefined)) {
    for (const row of s.writes?.rows ?? []) {
      const seconds = writeSeconds(row.runs.find((r) => r.test === test), time);
      if (seconds !== null && (best === null || seconds < best.seconds)) best = { label: row.label, seconds };
    }
  }
  return best;
}

/**
 * One row per way the candidate was mounted for writes (s3cachefs sync and
 * async) and per time (durable: the target; close: informational). The ratio
 * is the best peer's time over the candidate's, the smaller of the two tests:
 * the target asks for both.
 */
function writeTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const d = results.dataset;
  const file = `${sizeLabel(d.writeCheckpointBytes ?? NaN)} file`;
  const small = `${n(d.writeSmallFiles)} small files`;
  const peerNames = results.systems.filter((s) => s.role === 'baseline' || s.role === 'peer').map((s) => s.label);
  const against = `best peer (${peerNames.join(', ') || 'none ran'})`;
  const rows = byName(results, c.name)?.writes?.rows ?? [{ name: c.name, label: c.label, runs: [] }];
  return rows.flatMap((row) =>
    (['durableSeconds', 'closeSeconds'] as const).map((time): TargetRow => {
      const parts = (['checkpoint', 'small-files'] as const).map((test) => {
        const best = bestPeerWrite(results, test, time);
        const run = row.runs.find((r) => r.test === test);
        const r = ratio(best?.seconds ?? null, writeSeconds(run, time));
        const what = test === 'checkpoint' ? file : small;
        return { r, text: r !== null ? `${what} ${r.toFixed(2)}× vs ${best?.label}` : `${what} ${run?.error ? 'failed' : 'n/a'}` };
      });
      const [a, b] = [parts[0]?.r ?? null, parts[1]?.r ?? null];
      const durable = time === 'durableSeconds';
      return {
        system: row.label,
        metric: durable ? 'checkpoint writes, time to durable in bucket' : 'checkpoint writes, time until close returns',
        against,
        ratio: a === null || b === null ? null : Math.min(a, b),
        target: durable ? 1 : null,
        note: `${durable ? 'both tests; ' : ''}${parts.map((p) => p.text).join('; ')}`,
      };
    }),
  );
}

/**
 * Two nodes (issue 13), informational: the stated aims are "about 0" and "about
 * 1", not thresholds to pass. B's origin GETs per file after A with the tier,
 * B's cold read with the tier against without it, and A+B's origin GETs per file
 * when both read at once, without and with Redis.
 */
function nodesTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const nodes = byName(results, c.name)?.nodes;
  if (nodes === undefined) return [];
  const files = nodes.files > 0 ? nodes.files : null;
  const bTier = nodeRun(nodes, 'sequential-tier', 'B');
  const bAlone = nodeRun(nodes, 'sequential', 'B');
  const perFile = (scenario: 'concurrent-tier' | 'concurrent-redis'): number | null => originGetsPerFile(nodes, scenario);
  return [
    { system: c.label, metric: 'two nodes: B\'s origin GETs per file after A (shared tier)', against: 'files in the dataset', ratio: ratio(bTier === undefined ? null : gets(bTier.originRequests), files), target: null, note: 'aim: ≈ 0' },
    { system: c.label, metric: 'two nodes: B\'s cold read images/s after A (shared tier)', against: 'B after A without the tier', ratio: ratio(bTier?.imagesPerSecond ?? null, bAlone?.imagesPerSecond ?? null), target: null },
    { system: c.label, metric: 'two nodes at once: origin GETs of A+B per file (tier + Redis)', against: 'files in the dataset', ratio: perFile('concurrent-redis'), target: null, note: 'aim: ≈ 1' },
    { system: c.label, metric: 'two nodes at once: origin GETs of A+B per file (tier, no Redis)', against: 'files in the dataset', ratio: perFile('concurrent-tier'), target: null, note: 'without single-flight: up to 2' },
  ];
}

/** Issue 15's memory bound: the daemon's peak RSS in every workload. */
export const RSS_BOUND_BYTES = 512 * MiB;

/**
 * The daemon's peak RSS over every phase it served, against the bound: the larger of the
 * sampled VmRSS and the kernel's high-water mark (VmHWM, exact, since that daemon started:
 * each mount is a daemon of its own). The ratio is bound ÷ peak, so at or above 1 the
 * bound held in every measured phase. Workloads that record no daemon figures (PyTorch,
 * prefetch) are not in it; phases with no figure (0) count as missing.
 */
function memoryTargetRow(results: BenchResults, c: SystemResult): TargetRow[] {
  const sys = byName(results, c.name);
  if (sys === undefined) return [];
  let peak: { bytes: number; where: string } | null = null;
  for (const p of systemPhases(sys)) {
    const d = p.cost.daemon;
    const bytes = d === undefined ? 0 : Math.max(d.peakRssBytes, d.hwmBytes);
    if (bytes > 0 && (peak === null || bytes > peak.bytes)) peak = { bytes, where: p.system === c.label ? p.phase : `${p.system}, ${p.phase}` };
  }
  return [{
    system: c.label,
    metric: 'daemon peak RSS, every measured phase',
    against: `${n(RSS_BOUND_BYTES / MiB)} MiB bound (ratio: bound ÷ peak)`,
    ratio: peak === null ? null : RSS_BOUND_BYTES / peak.bytes,
    target: 1,
    ...(peak === null ? {} : { note: `peak ${n(peak.bytes / MiB)} MiB in ${peak.where}` }),
  }];
}

export function targetRows(results: BenchResults): TargetRow[] {
  const peers = results.systems.filter((s) => s.role === 'peer');
  return results.systems
    .filter((s) => s.role === 'candidate')
    .flatMap((c) =>
      [
        ...readTargetRows(results, c),
        ...torchTargetRows(results, c),
        ...prefetchTargetRows(results, c),
        ...peers.flatMap((p) => peerRows(results, c, p)),
        ...writeTargetRows(results, c),
        ...nodesTargetRows(results, c),
        ...memoryTargetRow(results, c),
      ].filter((row) => c.workloads === undefined || row.ratio !== null), // a variant that runs some workloads only states what it measured
    );
}

export function verdict(row: TargetRow): string {
  if (row.ratio === null) return 'n/a';
  if (row.target === null) return 'info';
  return row.ratio >= row.target ? 'PASS' : 'FAIL';
}
