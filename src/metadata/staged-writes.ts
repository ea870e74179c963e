/**
 * What namespace changes (namespace-changes.ts) need of the write path, as an interface
 * the write side implements (WriteBack, src/write/), so the metadata layer never imports
 * write/: the write path already depends on metadata (attributes, entries), and the
 * dependency stays one way. The composition root (src/daemon/build-filesystem.ts) hands
 * the WriteBack in.
 *
 * The guarantees a namespace change relies on (tested by test/core/write-races.test.ts
 * and test/mount/write-crash.test.ts):
 * - `exclusive(file, work)`: no upload of `file` is in flight while `work` runs (one in
 *   flight is cancelled and settled first); uploads asked for meanwhile wait for it.
 * - `move` and `discard`/`discardInside` make the journal say so, durably, before they
 *   resolve: the bucket is changed only after, so a crash never resurrects a removed file
 *   nor loses a renamed one.
 * - A file may become `unlinked` or `retired` while a change waits in `exclusive`: the
 *   change checks both first thing inside `work`.
 */
import type { PosixAttributes } from './s3fs-attributes.js'

/** A file with writes the bucket may not have yet. */
export interface StagedFile {
  readonly path: string
  readonly key: string
  /** Its committed bytes are in the bucket under `key` as they are (a rename copies them server-side). */
  readonly clean: boolean
  readonly size: number
  readonly mtimeMs: number
  readonly attrs: PosixAttributes
  /** Unlinked, or displaced by a rename onto its path: its bytes never reach the bucket. */
  readonly unlinked: boolean
  /**
   * Done and forgotten (its upload finished with no handle open, or its changes were dropped):
   * the bucket's object is the file now. A namespace change that waited in `exclusive` while
   * this happened must treat the file as an object, never register it again.
   */
  readonly retired: boolean
}

export interface StagedWrites<F extends StagedFile> {
  /** The staged file at `path`, if any. */
  get(path: string): F | undefined
  /** Staged files at or below `path`. */
  under(path: string): F[]
  /** Resolves once no open of `path` is still being set up. */
  settled(path: string): Promise<void>
  /** Runs `work` with no upload of `file` in flight (see the header). */
  exclusive<T>(file: F, work: () => Promise<T>): Promise<T>
  /** Inside `exclusive`: `file` is now `path` at `key`, durably (a staged file displaced at `path` is discarded). */
  move(file: F, path: string, key: string): Promise<void>
  /** After a namespace change: the file's pending upload goes on, or the file retires. */
  resume(file: F): void
  /** `path` was unlinked: its journal is removed durably, an upload in flight cancelled and awaited. */
  discard(path: string): Promise<void>
  /** Like `discard`, from inside `exclusive(file, …)`. */
  discardInside(file: F, path: string): Promise<void>
}
