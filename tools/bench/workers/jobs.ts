// The jobs a forked bench worker can run, and what it reports back. Shared by
// the worker (which runs them) and the pool (which sends them), so the IPC
// messages are typed on both sides.

export interface ReadFilesJob {
  readonly kind: 'read-files';
  /** Absolute paths, already in this worker's shuffled order. */
  readonly paths: readonly string[];
  readonly batch: number;
  /** Fake training step after each batch, seconds. */
  readonly stepS: number;
}

export interface GetKeysJob {
  readonly kind: 'get-keys';
  readonly endpoint: string;
  readonly bucket: string;
  readonly keys: readonly string[];
  readonly batch: number;
  readonly stepS: number;
  /** GETs in flight in this worker; 1 mirrors one loader process reading file after file. */
  readonly concurrency: number;
}

export interface TimedGetsJob {
  readonly kind: 'timed-gets';
  readonly endpoint: string;
  readonly bucket: string;
  readonly keys: readonly string[];
  readonly concurrency: number;
  readonly durationMs: number;
}

export interface ReadRangeJob {
  readonly kind: 'read-range';
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /** read(2) size: 1 MiB, like a tar/WebDataset reader's buffered reads. */
  readonly blockBytes: number;
}

export interface GetRangesJob {
  readonly kind: 'get-ranges';
  readonly endpoint: string;
  readonly bucket: string;
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  readonly blockBytes: number;
  readonly concurrency: number;
}

/**
 * Random reads with pread(2) in one process: one thread per share, all on one
 * shared file descriptor (as a threaded reader of an indexed format does).
 * The file is opened after "go", so opening is part of what is measured.
 */
export interface PreadOffsetsJob {
  readonly kind: 'pread-offsets';
  readonly path: string;
  /** One list of byte offsets per thread, each read in its order. */
  readonly shares: readonly (readonly number[])[];
  readonly readBytes: number;
}

/** The same random reads as ranged GETs (the direct limit): `concurrency` in flight over the whole list. */
export interface GetOffsetsJob {
  readonly kind: 'get-offsets';
  readonly endpoint: string;
  readonly bucket: string;
  readonly key: string;
  readonly offsets: readonly number[];
  readonly readBytes: number;
  readonly concurrency: number;
}

export interface ListTreeJob {
  readonly kind: 'list-tree';
  readonly root: string;
}

export type WorkerJob = ReadFilesJob | GetKeysJob | TimedGetsJob | ReadRangeJob | GetRangesJob | PreadOffsetsJob | GetOffsetsJob | ListTreeJob;

export interface WorkerResult {
  /** Files, objects or blocks completed. */
  readonly items: number;
  readonly bytes: number;
  /** This worker's own elapsed time from "go" to done. */
  readonly seconds: number;
  readonly errors: number;
  readonly firstError?: string;
  /** list-tree only: file paths relative to the root, sorted like ImageFolder sorts them. */
  readonly paths?: string[];
  readonly dirs?: number;
}

export type ParentMessage = { readonly type: 'job'; readonly job: WorkerJob } | { readonly type: 'go' };
export type WorkerMessage =
  | { readonly type: 'armed' }
  | { readonly type: 'done'; readonly result: WorkerResult }
  | { readonly type: 'failed'; readonly message: string };
