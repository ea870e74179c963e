// The shape of results.json: every raw number a run measured. The report
// (report.md, SVG charts) is rendered from this object alone, so a results
// file from any run can be re-rendered and compared later.
import type { MachineInfo } from './env/machine-info.js';
import type { PrefetchResult } from './workloads/prefetch-targets.js';
import type { RequestType } from './link/request-classifier.js';
import type { SystemRole } from './systems/system.js';

/** What one phase (an epoch, a shard read, a find) cost, measured at the proxy and in /proc. */
export interface PhaseCost {
  readonly requests: Record<RequestType, number>;
  readonly bytesDown: number;
  readonly bytesUp: number;
  readonly httpErrors: number;
  /** The FUSE daemon serving the mount, when there is one. */
  readonly daemon?: {
    readonly cpuSeconds: number;
    readonly peakRssBytes: number;
    readonly hwmBytes: number;
    /** Most threads seen in one sample (every 250 ms); absent in results from before it was sampled. */
    readonly peakThreads?: number;
  };
  readonly serverCpuSeconds?: number;
  /** The harness process (it runs the proxy). */
  readonly harnessCpuSeconds: number;
}

export interface EpochResult {
  readonly epoch: number;
  readonly images: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  /** The reference method's number: each process's images/s, summed over processes. */
  readonly imagesPerSecond: number;
  readonly wallImagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly pageCacheDropped: boolean;
  readonly cost: PhaseCost;
}

export interface LoaderResult {
  readonly listSeconds: number;
  readonly listedFiles: number;
  readonly listCost: PhaseCost;
  readonly epochs: EpochResult[];
  readonly error?: string;
}

/**
 * The shard workload's runs: sequential 1 MiB reads by 1 and 4 reader
 * processes, and random 256 KiB preads by 1 and 4 threads of one process,
 * each cold (fresh mount) and warm (same mount, page cache dropped).
 */
export const SHARD_RUN_NAMES = ['cold-seq', 'warm-seq', 'cold-par4', 'warm-par4', 'cold-rand', 'warm-rand', 'cold-rand4', 'warm-rand4'] as const;
export type ShardRunName = (typeof SHARD_RUN_NAMES)[number];

export interface ShardRun {
  readonly name: ShardRunName;
  /** Sequential: reader processes; random: threads of the one reader process. */
  readonly readers: number;
  /** Absent in results from before random reads existed: sequential. */
  readonly pattern?: 'sequential' | 'random';
  /** Size of each read(2)/pread(2) (or ranged GET for the direct limit). */
  readonly readBytes?: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly megabytesPerSecond: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly cost: PhaseCost;
  /**
   * Warm runs: MB/s of each pass, in order (page cache dropped before each); the run's own
   * figures are those of the median pass. Absent for cold runs and in results from before.
   */
  readonly passes?: readonly number[];
}

export interface ShardResult {
  readonly runs: ShardRun[];
  readonly error?: string;
}

export type MetadataOp = 'find' | 'ls-lR';

export interface MetadataRun {
  readonly op: MetadataOp;
  readonly state: 'cold' | 'warm';
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly cost: PhaseCost;
  readonly error?: string;
}

export interface MetadataResult {
  readonly runs: MetadataRun[];
  readonly error?: string;
}

export type WriteTest = 'checkpoint' | 'small-files';

/**
 * How a write was confirmed durable: `poll` (the S3 server polled until every
 * object was there at its full size), `sync` (local disk: syncfs).
 */
export type DurableVia = 'poll' | 'sync';

export interface WriteRun {
  readonly test: WriteTest;
  readonly files: number;
  readonly bytes: number;
  /** From starting the writer until it exited after its last close() returned, s; null if it failed. */
  readonly closeSeconds: number | null;
  /** From starting the writer until every object was in the bucket at full size (local disk: synced), s; null if not reached. */
  readonly durableSeconds: number | null;
  readonly closeMegabytesPerSecond: number | null;
  readonly durableMegabytesPerSecond: number | null;
  readonly durableVia: DurableVia;
  /**
   * Systems with a flush command (s3cachefs): from the writer's start until
   * `flush` returned, run beside the polling. What a job that waits with
   * `flush` sees; the polled time is the one compared across systems.
   */
  readonly flushSeconds?: number;
  /** Writer start to durable (or failure): S3 requests, daemon CPU and peak RSS. */
  readonly cost: PhaseCost;
  readonly error?: string;
}

/** One way of mounting a system (s3cachefs: sync and async), measured on both tests. */
export interface WriteRow {
  /** e.g. `s3cachefs-async`; the system's name for its default row. */
  readonly name: string;
  readonly label: string;
  readonly runs: WriteRun[];
}

export interface WritesResult {
  readonly rows: WriteRow[];
  readonly error?: string;
}

export interface TorchResult {
  readonly ran: boolean;
  readonly note: string;
  readonly epochs?: { epoch: number; imagesPerSecond: number; seconds: number }[];
  /** s3cachefs only: the same from a cold start with python/'s AnnouncingSampler announcing each epoch's order. */
  readonly samplerEpochs?: { epoch: number; imagesPerSecond: number; seconds: number }[];
}

/**
 * The many-nodes workload (issue 13): two mounts of one bucket, each with its own
 * cache directory and its own emulated link, standing for two nodes.
 * - `sequential`: node A reads the dataset cold, then node B; no shared tier.
 * - `sequential-tier`: the same with `--shared-cache` (fresh caches, fresh tier prefix).
 * - `concurrent-tier`: A and B read the same files at the same time, with the tier.
 * - `concurrent-redis`: the same with `--coordinator` on a local Redis as well.
 */
export const NODES_SCENARIOS = ['sequential', 'sequential-tier', 'concurrent-tier', 'concurrent-redis'] as const;
export type NodesScenario = (typeof NODES_SCENARIOS)[number];

/** What the daemon's `stats` said about its shared tier after the run (absent without a tier). */
export interface NodeTierStats {
  readonly hits: number;
  readonly misses: number;
  readonly writes: number;
  readonly writesDropped: number;
  readonly leaseWaits: number;
  readonly leaseWaitHits: number;
}

export interface NodeRun {
  readonly node: 'A' | 'B';
  readonly images: number;
  readonly bytes: number;
  /** From the common "go" to this node's last reader done, s. */
  readonly wallSeconds: number;
  /** The loader's measure: each reader process's images/s, summed over this node's processes. */
  readonly imagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly errors: number;
  readonly firstError?: string;
  /**
   * Requests this node sent to the dataset's bucket and to the tier's bucket, by
   * type, from its directory walk until its tier writes were done.
   */
  readonly originRequests: Record<RequestType, number>;
  readonly tierRequests: Record<RequestType, number>;
  readonly tier?: NodeTierStats;
  /** Same span as the requests; at this node's link. */
  readonly cost: PhaseCost;
}

export interface NodesScenarioResult {
  readonly scenario: NodesScenario;
  readonly concurrent: boolean;
  readonly tier: boolean;
  readonly coordinator: boolean;
  readonly runs: NodeRun[];
  readonly error?: string;
}

export interface NodesResult {
  /** Files each node read (the whole image dataset). */
  readonly files: number;
  readonly scenarios: NodesScenarioResult[];
  readonly error?: string;
}

export interface SystemResult {
  readonly name: string;
  readonly label: string;
  readonly role: SystemRole;
  /** The only workloads the system runs (BenchSystem.workloads); absent: all. Its rows are left out of the others' tables. */
  readonly workloads?: readonly string[];
  /** Set when the system could not run at all (e.g. it failed to mount). */
  error?: string;
  loader?: LoaderResult;
  shard?: ShardResult;
  metadata?: MetadataResult;
  writes?: WritesResult;
  torch?: TorchResult;
  nodes?: NodesResult;
  /** Serial announced reader and cache pressure (issue 9), s3cachefs only. */
  prefetch?: PrefetchResult;
  /** What the system itself reported about how it ran (e.g. the FUSE ceiling's worker-thread cap). */
  notes?: string[];
}

export interface LinkMeasurement {
  readonly configured: { readonly ttfbMs: number; readonly megabytesPerSecond: number };
  /** Mean latency of a tiny GET, one at a time, through the link and straight to the server. */
  readonly tinyGetMsViaLink: number;
  readonly tinyGetMsDirect: number;
  readonly singleConnectionMegabytesPerSecond: number;
  /** What the server sustains with many GETs in flight: the ceiling of any cold epoch here. */
  readonly serverCapacity: {
    readonly concurrency: number;
    readonly getsPerSecondViaLink: number;
    readonly getsPerSecondDirect: number;
    readonly serverCpuUtilisation: number;
    readonly megabytesPerSecondViaLink: number;
  };
}

export interface DatasetSummary {
  readonly seed: number;
  readonly imageFiles: number;
  readonly imageClasses: number;
  readonly imageBytes: number;
  readonly imageMeanBytes: number;
  readonly imageMinBytes: number;
  readonly imageMaxBytes: number;
  readonly shardBytes: number;
  /** The shard's random reads (count and size of each); absent in results from before they existed. */
  readonly shardRandomReads?: number;
  readonly shardRandomReadBytes?: number;
  readonly metadataObjects: number;
  readonly metadataDirs: number;
  /** The writes workload's inputs; absent in results from before it existed. */
  readonly writeCheckpointBytes?: number;
  readonly writeSmallFiles?: number;
  readonly writeSmallFileBytes?: number;
}

export interface BenchSettings {
  readonly quick: boolean;
  readonly workers: number;
  readonly batch: number;
  readonly epochs: number;
  readonly stepSeconds: number;
  readonly systems: string[];
  readonly skip: string[];
  readonly argv: string[];
  /** s3cachefs's in-memory block cache in this run, bytes (absent in older results). */
  readonly s3cachefsMemoryCacheBytes?: number;
}

export interface BenchResults {
  readonly version: 1;
  readonly startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  readonly settings: BenchSettings;
  readonly machine: MachineInfo;
  readonly server: { readonly flavour: string; readonly note: string };
  link?: LinkMeasurement;
  readonly pageCache: { readonly dropped: boolean; readonly note: string };
  readonly dataset: DatasetSummary;
  readonly systems: SystemResult[];
  readonly notes: string[];
}
