/**
 * Remembers the POSIX attributes (s3fs headers) the mount has seen or written, per path,
 * bound to the object version they belong to, so that a listing — which carries no user
 * metadata — can give them back without a HEAD when the directory is listed again.
 *
 * INVARIANT: attributes are handed to a listed object only if its ETag matches, and its
 * LastModified too once known. A write through the mount records the ETag it got back but
 * not the store's LastModified (uploads do not return it); the first listing that shows
 * that ETag binds it. An out-of-band metadata change (a copy onto itself with REPLACE
 * keeps the ETag of a single-part object) changes LastModified and so is not masked.
 * Directories have no version: their attributes are kept until forgotten (refresh,
 * rmdir, rename) or evicted.
 */
import { LRUCache } from 'lru-cache'
import type { PosixAttributes } from './s3fs-attributes.js'

interface Remembered {
  readonly etag?: string
  lastModifiedMs?: number
  readonly attrs: PosixAttributes
}

export class AttributeMemo {
  readonly #byPath: LRUCache<string, Remembered>

  constructor(maxEntries: number) {
    // Bounded by size, not `max`: lru-cache preallocates `max` slots (~20 B each, 30 MB for
    // 1.5 M), while most mounts remember few attributes; this grows with what is remembered.
    this.#byPath = new LRUCache({ maxSize: Math.max(1, maxEntries), sizeCalculation: () => 1 })
  }

  /** Attributes for a file version seen at `path`, or undefined when none are known for it. */
  forFile(path: string, etag: string, lastModifiedMs: number): PosixAttributes | undefined {
    const r = this.#byPath.get(path)
    if (r === undefined || r.etag === undefined || r.etag !== etag) return undefined
    if (r.lastModifiedMs === undefined) r.lastModifiedMs = lastModifiedMs
    return r.lastModifiedMs === lastModifiedMs ? r.attrs : undefined
  }

  forDir(path: string): PosixAttributes | undefined {
    const r = this.#byPath.get(path)
    return r !== undefined && r.etag === undefined ? r.attrs : undefined
  }

  /** `lastModifiedMs` when the store told it (HEAD, copy); undefined binds at the next listing. */
  rememberFile(path: string, etag: string, attrs: PosixAttributes, lastModifiedMs?: number): void {
    this.#byPath.set(path, { etag, attrs, ...(lastModifiedMs !== undefined ? { lastModifiedMs } : {}) })
  }

  rememberDir(path: string, attrs: PosixAttributes): void {
    this.#byPath.set(path, { attrs })
  }

  forget(path: string): void {
    this.#byPath.delete(path)
  }

  forgetDirsWhere(pred: (path: string) => boolean): void {
    for (const [path, r] of [...this.#byPath.entries()]) if (r.etag === undefined && pred(path)) this.#byPath.delete(path)
  }
}
