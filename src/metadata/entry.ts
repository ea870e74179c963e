/** What the metadata layer knows about one path. */
import type { PosixAttributes } from './s3fs-attributes.js'

export interface FileEntry {
  readonly kind: 'file'
  /** Key relative to the mount's prefix. */
  readonly key: string
  readonly size: number
  readonly etag: string
  /** The store's LastModified (a time the object's own `mtime` header overrides). */
  readonly mtimeMs: number
  /** The object's s3fs headers; undefined when not read yet (listings do not carry them). */
  readonly attrs?: PosixAttributes
}

export interface DirEntry {
  readonly kind: 'dir'
  /** Key prefix relative to the mount's prefix, '' for the root, else ending in '/'. */
  readonly prefix: string
  readonly mtimeMs: number
  /** The `dir/` marker's s3fs headers; undefined when not read yet, `{}` when it has none or is absent. */
  readonly attrs?: PosixAttributes
}

export type Entry = FileEntry | DirEntry

export interface DirListing {
  /** Children by name, in S3 (UTF-8 binary) order, then names added through the mount. */
  readonly children: Map<string, Entry>
  /** When it was listed: an absent name is trusted from it only for the negative TTL. */
  readonly listedAtMs: number
}
