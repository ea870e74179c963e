/**
 * The times a namespace change gives, as a local filesystem gives them: creating or
 * removing an entry sets its directory's mtime and ctime, and rename sets the renamed
 * entry's ctime (a renamed directory keeps the times it showed). They are kept in the metadata caches only (MetadataStore.noteFile /
 * noteDirAttributes): getattr shows them for as long as the caches hold the entry, and no
 * request writes them to the bucket — s3fs-fuse writes the parent directory's object for
 * this only with `-o update_parent_dir_stat` (off by default), and an extra copy of a
 * directory marker per created file would double the cost of untarring a tree. A renamed
 * file's ctime goes to the bucket with its next upload or attribute change, as others do.
 *
 * The core wraps its namespace operations with these after the change succeeded; a failure
 * here (the parent vanished meanwhile, a failed HEAD) is logged and never fails the change.
 */
import type { Logger } from 'pino'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { parentOf } from '../metadata/paths.js'
import { mergeAttributes, type PosixAttributes } from '../metadata/s3fs-attributes.js'
import type { WriteBack } from '../write/write-back.js'

export class NamespaceTimes {
  readonly #metadata: MetadataStore
  readonly #writes: WriteBack
  readonly #log: Logger
  readonly #now: () => number

  constructor(metadata: MetadataStore, writes: WriteBack, log: Logger, now = Date.now) {
    this.#metadata = metadata
    this.#writes = writes
    this.#log = log
    this.#now = now
  }

  /** `work` (creating or removing `path`), then its directory's mtime and ctime become now. */
  async entryChanged<T>(work: Promise<T>, path: string): Promise<T> {
    const result = await work
    await this.#quietly(path, () => this.#touchDir(parentOf(path), this.#now()))
    return result
  }

  /** `work` (rename `from` to `to`), then both directories' mtime and ctime, and the entry's ctime, become now. */
  async renamed(work: Promise<void>, from: string, to: string): Promise<void> {
    // A directory's times may live only in the caches (set here before): they move with it.
    const shown = this.#metadata.peekStat(from)
    const carried = shown?.kind === 'dir' ? { atimeMs: shown.attrs?.atimeMs, mtimeMs: shown.attrs?.mtimeMs } : {}
    await work
    const now = this.#now()
    await this.#quietly(to, async () => {
      await this.#touchDir(parentOf(from), now)
      if (parentOf(to) !== parentOf(from)) await this.#touchDir(parentOf(to), now)
      await this.#changedNow(to, { ...carried, ctimeMs: now })
    })
  }

  async #touchDir(dir: string, now: number): Promise<void> {
    // As getattr shows it: with --posix-metadata head its stored attributes; in listing mode no HEAD per directory.
    const entry = await this.#metadata.stat(dir)
    if (entry.kind !== 'dir') return
    // The access time stays what getattr showed (an absent atime reads as the mtime).
    const atimeMs = entry.attrs?.atimeMs ?? entry.attrs?.mtimeMs ?? entry.mtimeMs
    this.#metadata.noteDirAttributes(dir, mergeAttributes(entry.attrs, { atimeMs, mtimeMs: now, ctimeMs: now }))
  }

  /** `change` (a new ctime, times carried) applied to `path`: a staged file keeps it for its next upload; an object or directory in the caches. */
  async #changedNow(path: string, change: PosixAttributes): Promise<void> {
    const staged = this.#writes.get(path)
    if (staged !== undefined) {
      staged.attrs = mergeAttributes(staged.attrs, { ctimeMs: change.ctimeMs })
      return
    }
    // Its stored attributes first (mustKnow): noting only a ctime would hide a mode not read yet.
    const entry = await this.#metadata.stat(path, true)
    const attrs = mergeAttributes(entry.attrs, entry.kind === 'dir' ? change : { ctimeMs: change.ctimeMs })
    if (entry.kind === 'dir') this.#metadata.noteDirAttributes(path, attrs)
    else this.#metadata.noteFile(path, { key: entry.key, size: entry.size, etag: entry.etag, mtimeMs: entry.mtimeMs, attrs })
  }

  async #quietly(path: string, work: () => Promise<void>): Promise<void> {
    try {
      await work()
    } catch (err) {
      this.#log.debug({ path, err }, 'directory times not updated')
    }
  }
}
