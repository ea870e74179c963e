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

/** Children by name: a Map, or packed (packed-children.ts) once cached. */
export interface ChildMap extends ReadonlyMap<string, Entry> {
  set(name: string, entry: Entry): unknown
  delete(name: string): boolean
}

export interface DirListing {
  /** Children by name, in S3 (UTF-8 binary) order, then names added through the mount. */
  readonly children: ChildMap
  /** When it was listed: an absent name is trusted from it only for the negative TTL. */
  readonly listedAtMs: number
  /**
   * Not listed but inferred: a directory mkdir made is empty, which answers lookups of new
   * names in it (cp -r, tar x) without a request; readdir lists it from the store once, so
   * that what other clients put there meanwhile shows.
   */
  readonly assumed?: boolean
}

/** One entry as a compact JSON row, as the listing manifests store it (local file and Redis). */
export type EntryRow =
  [name: string, kind: 'd', prefix: string, mtimeMs: number] | [name: string, kind: 'f', key: string, size: number, etag: string, mtimeMs: number]

export function rowOf(name: string, e: Entry): EntryRow {
  return e.kind === 'dir' ? [name, 'd', e.prefix, e.mtimeMs] : [name, 'f', e.key, e.size, e.etag, e.mtimeMs]
}

export function entryOf(row: EntryRow): Entry {
  if (row[1] === 'd') return { kind: 'dir', prefix: row[2], mtimeMs: row[3] }
  return { kind: 'file', key: row[2], size: row[3], etag: row[4], mtimeMs: row[5] }
}
