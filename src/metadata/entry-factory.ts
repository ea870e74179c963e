/**
 * Builds the entries MetadataStore caches from what the store answered: a file from a
 * LIST row or a HEAD (its s3fs headers, or the attributes the AttributeMemo remembers for
 * that version), a directory from a common prefix (its attributes, if any were seen).
 */
import type { ObjectInfo } from '../s3/object-client.js'
import type { AttributeMemo } from './attribute-memo.js'
import type { DirEntry, FileEntry } from './entry.js'
import { parseS3fsMetadata, type PosixAttributes } from './s3fs-attributes.js'

export class EntryFactory {
  readonly #memo: AttributeMemo
  /** Directory mtime: the mount time, stable so the kernel's caches stay valid. */
  readonly dirMtimeMs: number

  constructor(memo: AttributeMemo, dirMtimeMs: number) {
    this.#memo = memo
    this.dirMtimeMs = dirMtimeMs
  }

  /** A file entry; its attributes from the object's headers (a HEAD) or from what was seen of this version. */
  file(path: string, info: ObjectInfo, key: string): FileEntry {
    const mtimeMs = info.lastModified.getTime()
    let attrs: PosixAttributes | undefined
    if (info.metadata !== undefined) {
      attrs = parseS3fsMetadata(info.metadata)
      this.#memo.rememberFile(path, info.etag, attrs, mtimeMs)
    } else {
      attrs = this.#memo.forFile(path, info.etag, mtimeMs)
    }
    // One shape for every entry (no conditional spread): a spread literal gets a larger, slower object.
    return attrs === undefined
      ? { kind: 'file', key, size: info.size, etag: info.etag, mtimeMs }
      : { kind: 'file', key, size: info.size, etag: info.etag, mtimeMs, attrs }
  }

  dir(path: string, prefix: string): DirEntry {
    const attrs = this.#memo.forDir(path)
    return { kind: 'dir', prefix, mtimeMs: this.dirMtimeMs, ...(attrs !== undefined ? { attrs } : {}) }
  }
}
