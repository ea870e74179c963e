// What every system under test looks like to the workloads. A system turns a
// dataset location (bucket + prefix, plus its local copy) into a "view": a
// directory to read (mounts, local disk) or an endpoint to GET from (the
// direct-GET limit). Adding a system (e.g. Mountpoint, gcsfuse) means writing
// one more BenchSystem and listing it in systems/registry.ts.
import type { Cleanup } from '../env/cleanup.js';
import type { LinkEmulator } from '../link/link-emulator.js';

export interface DatasetLocation {
  readonly kind: 'images' | 'shard' | 'metadata';
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
 * `limit`: a physical bound (local disk for warm epochs, direct GETs for cold ones).
 */
export type SystemRole = 'candidate' | 'baseline' | 'peer' | 'limit';

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
  /** A view of `ds` with every cache of this system empty. */
  openCold(ds: DatasetLocation, ctx: SystemContext): Promise<OpenView>;
}

export interface OpenView {
  readonly view: View;
  close(): Promise<void>;
}
