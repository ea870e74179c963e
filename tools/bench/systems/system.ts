// What every system under test looks like to the workloads. A system turns a
// dataset location (bucket + prefix, plus its local copy) into a "view": a
// directory to read (mounts, local disk) or an endpoint to GET from (the
// direct-GET limit). Adding a system (e.g. Mountpoint, gcsfuse) means writing
// one more BenchSystem and listing it in systems/registry.ts.
import type { Cleanup } from '../env/cleanup.js';
import type { Workload } from '../options.js';
import type { LinkEmulator } from '../link/link-emulator.js';
import type { NodeTierStats } from '../results.js';

export interface DatasetLocation {
  readonly kind: 'images' | 'shard' | 'metadata' | 'writes';
  readonly bucket: string;
  /** '' or a prefix ending in '/', e.g. 'train/'. */
  readonly prefix: string;
  /** The same data on local disk (the generator's copy). */
  readonly localDir: string;
}

export type View =
  | { readonly kind: 'fs'; readonly root: string; readonly daemonPid: number | undefined }
  | { readonly kind: 'http'; readonly endpoint: string; readonly bucket: string; readonly prefix: string };

export interface SystemContext {
  readonly link: LinkEmulator;
  /** Scratch space for this run: mount points, cache dirs, credentials. */
  readonly workDir: string;
  /** Where daemons' logs go (the results folder). */
  readonly logDir: string;
  readonly repoRoot: string;
  readonly cleanup: Cleanup;
  /** Extra arguments for the s3cachefs mount command (from --s3cachefs-args). */
  readonly s3cachefsArgs: readonly string[];
}

/**
 * `candidate`: a caching mount being judged against the targets (s3cachefs).
 * `baseline`: what the targets are stated against (s3fs-fuse).
 * `peer`: another mount measured side by side (rclone mount); candidates'
 * ratios are also given against it, but it is not judged itself.
 * `limit`: a physical bound (local disk for warm epochs, direct GETs for cold
 * ones, the FUSE ceiling for anything served through FUSE from local disk).
 */
export type SystemRole = 'candidate' | 'baseline' | 'peer' | 'limit';

/**
 * One way of mounting a system that the writes workload measures as a row of
 * its own, e.g. s3cachefs with `--write-mode async`.
 */
export interface MountVariant {
  /** Row name in results.json, e.g. `s3cachefs-async`. */
  readonly name: string;
  readonly label: string;
  /** Appended to the system's mount command (after --s3cachefs-args, so they win). */
  readonly mountArgs: readonly string[];
}

/** How one node of the many-nodes workload is mounted: a shared cache tier, a coordinator, or neither. */
export interface NodeSetup {
  /** e.g. `A`; names the variant. */
  readonly node: string;
  /** `s3://BUCKET/PREFIX` of the shared tier, on the same endpoint as the source. */
  readonly sharedCache?: string;
  /** `redis://127.0.0.1:PORT`. */
  readonly coordinator?: string;
}

/** The daemon's shared-tier figures, plus the writes it still has queued. */
export interface SharedTierFigures extends NodeTierStats {
  readonly writesQueued: number;
}

export interface BenchSystem {
  readonly name: string;
  readonly label: string;
  readonly role: SystemRole;
  /**
   * Whether every epoch is measured. False only where an epoch cannot differ
   * from the first (direct GETs keep no state), to save time; local disk is
   * measured every epoch because it is each warm epoch's limit.
   */
  readonly measureEveryEpoch: boolean;
  /**
   * The rows the writes workload measures; absent: one row, the system as
   * it mounts by default.
   */
  readonly writeVariants?: readonly MountVariant[];
  /**
   * True for systems the writes workload skips: the direct-GET limit (no
   * filesystem) and the FUSE ceiling (a read path reference over the local
   * copy; passthrough_ll cannot even unlink).
   */
  readonly readOnly?: boolean;
  /** The workloads this system runs; absent: every selected one (s3cachefs --passthrough runs only the shard workload, where it differs). */
  readonly workloads?: readonly Workload[];
  /** Facts about how the system ran that the report's Notes should state (e.g. a thread cap it found). */
  notes?(): readonly string[];
  /**
   * Systems that can share a cache tier and coordinate across nodes (s3cachefs):
   * the mount for one node of the many-nodes workload. Absent: the workload skips the system.
   */
  nodeVariant?(setup: NodeSetup): MountVariant;
  /** A view of `ds` with every cache of this system empty, mounted as `variant` says (default: as is). */
  openCold(ds: DatasetLocation, ctx: SystemContext, variant?: MountVariant): Promise<OpenView>;
}

export interface OpenView {
  readonly view: View;
  /**
   * Waits until everything written through the view is in the bucket, with
   * the system's own command (`s3cachefs flush`). Absent: the system has no
   * such command, and the writes workload polls the bucket instead.
   */
  flush?(timeoutMs: number): Promise<void>;
  /**
   * Waits for the background work a cold read left (s3cachefs --passthrough: the whole-object
   * copy of what was read) before a warm run; resolves with the seconds waited. Absent: none.
   */
  settle?(): Promise<number>;
  /** The daemon's shared-tier figures (s3cachefs with `--shared-cache`); undefined when it has no tier. */
  sharedTierStats?(): Promise<SharedTierFigures | undefined>;
  close(): Promise<void>;
}
