/**
 * One file with written bytes not (yet) in the bucket: its content as a chain of
 * staging data files, the generations of that content, and who holds it.
 *
 *                    write / truncate                 close · fsync · flush
 *   ┌───────┐ ─────────────────────────▶ ┌───────┐ ───────────────────────▶ ┌───────────┐
 *   │ clean │                            │ dirty │                          │ committed │
 *   └───────┘ ◀── upload of the latest ─ └───────┘ ◀─ write (copy first) ── └───────────┘
 *       ▲          committed generation                                         │
 *       └───────────────────────────── upload done ─────────────────────────────┘
 *   any state ── unlink ──▶ unlinked (journal gone; never uploaded; open handles still read)
 *   dirty ── a write fails (ENOSPC) ──▶ poisoned: writes and close answer that error; at the
 *                                       last release the uncommitted changes are dropped
 *   clean, committed = none, no handle ──▶ retired (WriteBack forgets it, staging removed)
 *
 * INVARIANT: a committed generation's data file never changes (it is held); a write
 * after a commit goes to a copy of it (copy-on-write), so an upload always sends the
 * exact bytes some close or fsync saw, and a later write can never corrupt it.
 * INVARIANT: generations only grow; the file is clean when `uploadedGeneration`
 * equals the current content's generation. Uploads and namespace changes of one
 * file run one at a time, in order (`serialize`).
 */
import { crashPoint } from './crash-points.js'
import { DataFile } from './data-file.js'
import { diskError, type StagingStore } from './staging-store.js'
import type { StreamingUpload } from './streaming-upload.js'
import type { PosixAttributes } from '../metadata/s3fs-attributes.js'
import type { ObjectMetadata } from '../s3/object-client.js'
import type { DirtyFileInit, Snapshot } from './snapshot.js'

export type { DirtyFileInit, Snapshot } from './snapshot.js'

export class DirtyFile {
  /** Names the journal file. */
  readonly id: string
  path: string
  key: string
  mtimeMs: number
  /**
   * Mode, owners, atime and ctime the upload stores as s3fs headers (with `mtimeMs`); set at
   * create, from the object when opened, by chmod/chown/utimens. Journaled (journal.ts), so a
   * file recovered after a crash is uploaded with them.
   */
  attrs: PosixAttributes = {}
  /** The user metadata of the object it was opened from: uploads keep other clients' headers. */
  baseMetadata: ObjectMetadata = {}
  openHandles = 0
  uploadedGeneration: number
  /** The latest committed generation not yet known to be in the bucket. */
  committed: Snapshot | undefined = undefined
  unlinked = false
  retired = false
  /** Why a write failed: the uncommitted changes are unusable. */
  poisoned: Error | undefined = undefined
  /** Why the last upload failed, until one succeeds. */
  lastError: unknown = undefined
  /** A journal naming a committed generation reached the disk durably: removing it must be durable too. */
  journalDurable = false
  /** Backpressure room held until the committed content is uploaded (async mode). */
  reservation: (() => void) | undefined = undefined
  /** Bytes the running upload has sent, for progress. */
  uploadSent = 0
  /** Tail of this file's journal operations (WriteBack runs them one at a time). */
  journalTail: Promise<unknown> = Promise.resolve()
  /**
   * Whether the content so far was only ever appended to, from empty: bytes below the
   * size never changed, so parts of it may be uploaded before close (StreamingUpload).
   */
  appendOnly: boolean
  /** The upload started while the file is written front to back, if any. */
  stream: StreamingUpload | undefined = undefined
  readonly #store: StagingStore
  #current: DataFile
  #counter: number
  #cloning: Promise<DataFile> | undefined
  #chain: Promise<unknown> = Promise.resolve()
  #upload: AbortController | undefined

  constructor(init: DirtyFileInit) {
    this.id = init.id
    this.path = init.path
    this.key = init.key
    this.#store = init.store
    this.#current = init.current
    this.#counter = init.current.generation
    this.uploadedGeneration = init.uploadedGeneration
    this.mtimeMs = init.mtimeMs
    this.appendOnly = init.current.size === 0
  }

  get size(): number {
    return this.#current.size
  }

  get generation(): number {
    return this.#current.generation
  }

  get clean(): boolean {
    return this.uploadedGeneration >= this.#current.generation
  }

  /** The data file writers change now (named in the journal as `working`). */
  get workingName(): string {
    return this.#current.name
  }

  get uploading(): boolean {
    return this.#upload !== undefined
  }

  async write(data: Buffer, position: number): Promise<number> {
    if (this.poisoned !== undefined) throw this.poisoned
    try {
      await this.#store.budget.admit(this.growthOf(position, data.length), this.path) // --staging-size
    } catch (err) {
      this.poisoned = err as Error // as a full disk: the changes since the last close are dropped
      throw err
    }
    if (position !== this.#current.size) this.appendOnly = false
    this.#modified()
    const n = await this.#mutate((f, gen) => f.write(data, position, gen))
    crashPoint('after-data-write', this.key)
    return n
  }

  /** Bytes a write of `length` at `position` adds to staging: growth, plus a copy if the content is held. */
  growthOf(position: number, length: number): number {
    return Math.max(0, position + length - this.#current.size) + (this.#current.frozen ? this.#current.size : 0)
  }

  async truncate(size: number): Promise<void> {
    this.appendOnly = size === 0
    this.#modified()
    await this.#mutate((f, gen) => f.truncate(size, gen))
  }

  /** Bytes of the current content once the writes in flight have landed (for a streamed part). */
  async readSettled(position: number, length: number): Promise<Buffer> {
    await this.#current.settled()
    return this.#current.read(position, length)
  }

  /** Copies existing object bytes into a fresh file: not a change of content. */
  async fill(data: Buffer, position: number): Promise<void> {
    if (data.length > 0) this.appendOnly = false
    try {
      await this.#current.write(data, position, this.#current.generation)
    } catch (err) {
      throw diskError(err, this.path)
    }
  }

  read(position: number, length: number): Promise<Buffer> {
    return this.#current.read(position, length)
  }

  /** A change of content: mtime and ctime become now (POSIX), shown at once and carried by the upload. */
  #modified(): void {
    const now = Date.now()
    this.mtimeMs = now
    this.attrs = { ...this.attrs, mtimeMs: now, ctimeMs: now }
  }

  touch(mtimeMs: number): void {
    this.mtimeMs = mtimeMs
  }

  /** Freezes the current content and waits for writes already in flight: the bytes a close saw. */
  async snapshot(): Promise<Snapshot> {
    const data = this.#current
    data.holds++
    await data.settled()
    return { data, size: data.size, generation: data.generation, mtimeMs: this.mtimeMs }
  }

  /** Makes `snap` the committed generation (it keeps the hold `snapshot` took). */
  setCommitted(snap: Snapshot): void {
    const old = this.committed
    this.committed = snap
    if (old !== undefined) this.release(old.data)
  }

  /** The committed generation reached the bucket (or was superseded): drop its hold. */
  clearCommitted(): void {
    const old = this.committed
    this.committed = undefined
    if (old !== undefined) this.release(old.data)
    this.reservation?.()
    this.reservation = undefined
  }

  hold(data: DataFile): void {
    data.holds++
  }

  /** Drops one hold of `data`; a data file neither current nor held is deleted. */
  release(data: DataFile): void {
    data.holds--
    if (data.holds === 0 && data !== this.#current) this.#removeData(data)
  }

  /**
   * After a failed write, at the last release: forget the uncommitted changes. Returns
   * false when nothing staged is left worth keeping (the bucket's object is the truth).
   */
  dropUncommitted(): boolean {
    this.poisoned = undefined
    const base = this.committed?.data
    if (base === undefined) return false
    if (base !== this.#current) {
      const abandoned = this.#current
      this.#current = base
      if (abandoned.holds === 0) this.#removeData(abandoned)
    }
    return true
  }

  /** Runs `work` after every earlier serialized task of this file (uploads, renames). */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work)
    this.#chain = next.catch(() => {})
    return next
  }

  startUpload(): AbortSignal {
    this.#upload = new AbortController()
    this.uploadSent = 0
    return this.#upload.signal
  }

  endUpload(): void {
    this.#upload = undefined
    this.uploadSent = 0
  }

  /** Cancels the upload in flight, if any (a rename or unlink supersedes it). */
  abortUpload(): void {
    this.#upload?.abort()
  }

  /** Closes and deletes every data file of this file (unlinked or retired). */
  async destroy(): Promise<void> {
    const files = new Set([this.#current, ...(this.committed !== undefined ? [this.committed.data] : [])])
    for (const f of files) {
      await f.close()
      await this.#store.removeData(f.name)
    }
  }

  /** Runs a change on a data file nobody holds: the current one, or a copy of it. */
  async #mutate<T>(op: (f: DataFile, generation: number) => Promise<T>): Promise<T> {
    if (this.poisoned !== undefined) throw this.poisoned
    for (;;) {
      // While a copy is being made, nothing may write to its source, even if the hold that
      // started it is released meanwhile: the copy would replace it and lose the write.
      if (this.#cloning !== undefined) {
        await this.#cloning
        continue
      }
      const f = this.#current
      // `op` starts its write synchronously, so no snapshot can slip in between.
      if (!f.frozen) {
        try {
          return await op(f, ++this.#counter)
        } catch (err) {
          this.poisoned = diskError(err, this.path) as Error
          throw this.poisoned
        }
      }
      this.#cloning = this.#copyCurrent().finally(() => {
        this.#cloning = undefined
      })
    }
  }

  async #copyCurrent(): Promise<DataFile> {
    const from = this.#current
    await from.settled()
    const { name, handle } = await this.#store.cloneData(from.name)
    const copy = new DataFile(name, handle, from.size, from.generation, this.#store.budget)
    this.#current = copy
    if (from.holds === 0) this.#removeData(from)
    return copy
  }

  #removeData(data: DataFile): void {
    data
      .close()
      .then(() => this.#store.removeData(data.name))
      .catch(() => {
        /* recovery moves leftovers aside */
      })
  }
}
