/**
 * Asks the store about one directory or one path, and turns its answers into entries;
 * caches nothing (MetadataStore decides what to keep).
 * - `list`: all LIST pages of a directory (delimiter `/`), or the entries of the first
 *   `maxPages` pages when it has more. A name that is both an object and a prefix is a
 *   directory (docs/SEMANTICS.md); `dir/` marker objects and names a directory entry
 *   cannot hold are skipped.
 * - `probe`: one HEAD and one `LIST prefix=key/ max-keys=1` at once, for a path whose
 *   parent is not listed.
 * - `attributes`: one HEAD for the s3fs headers of a file or a directory marker.
 * Both HEADs recognise old s3fs-fuse directory objects (see `#slashlessDir`).
 */
import { NotFoundError } from '../errors.js'
import { listPages } from '../s3/list-pages.js'
import type { ObjectClient, ObjectInfo } from '../s3/object-client.js'
import type { DirEntry, Entry, FileEntry } from './entry.js'
import type { EntryFactory } from './entry-factory.js'
import { isRepresentableName, joinPath, pathToKey } from './paths.js'
import { DIRECTORY_CONTENT_TYPE, parseS3fsMetadata, type PosixAttributes } from './s3fs-attributes.js'

export type ListOutcome =
  /** Every child, in S3 (UTF-8 binary) order. */
  | { readonly complete: true; readonly children: Map<string, Entry>; readonly pages: number }
  /** More than `maxPages` pages: the entries seen on those. */
  | { readonly complete: false; readonly seen: Array<[string, Entry]>; readonly pages: number }

export class DirectoryLister {
  readonly #client: ObjectClient
  readonly #entries: EntryFactory
  readonly #answered: () => void
  readonly #readOnly: boolean

  /**
   * `answered` is called at each answer of the store (stale-if-error's episodes end there).
   * `readOnly`: write nothing, not even the `dir/` marker that replaces an old directory object.
   */
  constructor(client: ObjectClient, entries: EntryFactory, answered: () => void, readOnly = false) {
    this.#client = client
    this.#entries = entries
    this.#answered = answered
    this.#readOnly = readOnly
  }

  async list(path: string, prefix: string, maxPages: number): Promise<ListOutcome> {
    const files = new Map<string, FileEntry>()
    const dirs = new Map<string, DirEntry>()
    let pages = 0
    // The one LIST loop (s3/list-pages.ts); leaving it after `maxPages` asks for no further page.
    for await (const page of listPages(this.#client, { prefix, delimiter: '/' })) {
      pages++
      this.#answered()
      for (const cp of page.commonPrefixes) {
        const name = cp.slice(prefix.length, -1)
        if (isRepresentableName(name)) dirs.set(name, this.#entries.dir(joinPath(path, name), cp))
      }
      for (const obj of page.objects) {
        const name = obj.key.slice(prefix.length)
        // `dir/` marker objects list as the prefix itself; keys ending in '/' are markers.
        if (name.endsWith('/') || !isRepresentableName(name)) continue
        files.set(name, this.#entries.file(joinPath(path, name), obj, obj.key))
      }
      if (page.nextContinuationToken !== undefined && pages >= maxPages) return { complete: false, seen: [...files, ...dirs], pages }
    }
    const names = [...new Set([...files.keys(), ...dirs.keys()])].sort(compareUtf8)
    const children = new Map<string, Entry>(names.map(n => [n, (dirs.get(n) ?? files.get(n)) as Entry]))
    return { complete: true, children, pages }
  }

  /** What is at `path` (a directory wins over an object of the same name), or undefined when nothing is. */
  async probe(path: string): Promise<Entry | undefined> {
    const key = pathToKey(path)
    const prefix = key + '/'
    // Both at once: the answer costs one round trip whichever it turns out to be.
    const [asDir, asFile] = await Promise.allSettled([this.#client.listPage({ prefix, maxKeys: 1 }), this.#client.head(key)])
    if (asDir.status === 'rejected') throw asDir.reason
    this.#answered()
    if (asDir.value.objects.length > 0 || asDir.value.commonPrefixes.length > 0) return this.#entries.dir(path, prefix)
    if (asFile.status === 'fulfilled') return isSlashlessDir(asFile.value) ? this.#slashlessDir(key, asFile.value) : this.#entries.file(path, asFile.value, key)
    if (asFile.reason instanceof NotFoundError) return undefined
    throw asFile.reason
  }

  /**
   * One HEAD: a file's current version with its s3fs headers (NotFoundError when gone), or a
   * directory with its `dir/` marker's headers (`{}` when it has none or there is no marker).
   */
  async attributes(path: string, entry: Entry): Promise<Entry> {
    if (entry.kind === 'file') {
      const head = await this.#client.head(entry.key)
      return isSlashlessDir(head) ? this.#slashlessDir(entry.key, head) : this.#entries.file(path, head, entry.key)
    }
    let attrs: PosixAttributes = {}
    try {
      attrs = parseS3fsMetadata((await this.#client.head(entry.prefix)).metadata ?? {})
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
    return { ...entry, attrs }
  }

  /**
   * An old s3fs-fuse directory object — `dir` with no slash, zero bytes, a directory
   * Content-Type — is a directory. A listing cannot tell it from an empty file; the HEAD
   * that reads its headers can. It is replaced by the `dir/` marker s3fs-fuse writes today,
   * headers and all (a copy, then the old object's delete; s3fs-fuse does the same on the
   * directory's first attribute change), so that listings, lookups in it and rmdir treat it
   * as any directory from then on. A read-only mount only shows it as a directory.
   */
  async #slashlessDir(key: string, head: ObjectInfo): Promise<DirEntry> {
    const prefix = key + '/'
    if (!this.#readOnly) {
      await this.#client.copy(key, prefix, 0, head.metadata ?? {}, DIRECTORY_CONTENT_TYPE)
      await this.#client.delete(key)
    }
    return { kind: 'dir', prefix, mtimeMs: this.#entries.dirMtimeMs, attrs: parseS3fsMetadata(head.metadata ?? {}) }
  }
}

/** s3fs-fuse's directory Content-Types (old versions wrote `dir` objects with them). */
function isSlashlessDir(head: ObjectInfo): boolean {
  return head.size === 0 && /^(application\/x-directory|httpd\/unix-directory)\b/.test(head.contentType ?? '')
}

/** S3 orders keys by UTF-8 bytes; JS strings compare by UTF-16 units. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
