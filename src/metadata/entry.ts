/** What the metadata layer knows about one path. */

export interface FileEntry {
  readonly kind: 'file'
  /** Key relative to the mount's prefix. */
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly mtimeMs: number
}

export interface DirEntry {
  readonly kind: 'dir'
  /** Key prefix relative to the mount's prefix, '' for the root, else ending in '/'. */
  readonly prefix: string
  readonly mtimeMs: number
}

export type Entry = FileEntry | DirEntry

export interface DirListing {
  /** Children by name, in S3 (UTF-8 binary) order, then names added through the mount. */
  readonly children: Map<string, Entry>
  /** When it was listed: an absent name is trusted from it only for the negative TTL. */
  readonly listedAtMs: number
}
