/**
 * Owns every DirtyFile (registry: dirty-files.ts) and moves their committed
 * generations to the bucket (bytes: snapshot-uploader.ts; journals: file-journal.ts).
 * - sync: close (FUSE flush) commits and uploads that exact snapshot and returns once it
 *   is in the bucket; only a failed upload makes it durable locally, for a later retry.
 * - async: close makes the snapshot durable (data, journal, directory fsynced), waits
 *   for room in the backlog and returns; the upload runs in the background.
 * - fsync(2), `s3cachefs flush` and unmount commit and upload in both modes, and wait.
 * A rename or unlink cancels the file's upload in flight and runs after it (`exclusive`).
 * A file is retired (staging deleted) once clean and no handle holds it.
 */
import type { Logger } from 'pino'
import { UploadAbortedError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { Backlog } from './backlog.js'
import { crashPoint } from './crash-points.js'
import type { DirtyFile, Snapshot } from './dirty-file.js'
import { DirtyFiles } from './dirty-files.js'
import { FileJournal } from './file-journal.js'
import { flushFiles } from './flush-files.js'
import { recoverStaging } from './recovery.js'
import { SnapshotUploader } from './snapshot-uploader.js'
import type { StagingStore } from './staging-store.js'
import { type FlushReport, TRUNCATE_GRACE_MS, type WriteBackConfig, type WriteListener, type WriteStats } from './write-back-types.js'

export type { FlushReport, WriteBackConfig, WriteMode } from './write-back-types.js'

export class WriteBack {
  readonly #config: WriteBackConfig
  readonly #store: StagingStore
  readonly #log: Logger
  readonly #uploader: SnapshotUploader
  readonly #journal: FileJournal
  readonly #backlog: Backlog
  readonly #files = new DirtyFiles()
  #listener: WriteListener = { uploaded: async () => {}, dropped: () => {} }

  constructor(config: WriteBackConfig, store: StagingStore, client: ObjectClient, log: Logger) {
    this.#config = config
    this.#store = store
    this.#log = log
    this.#uploader = new SnapshotUploader(config, store, client, log)
    this.#journal = new FileJournal(store, config.source)
    this.#backlog = new Backlog(config.backlog)
  }

  set listener(listener: WriteListener) {
    this.#listener = listener
  }

  /** Told when `path` may become busy (staged writes are starting or moved there), before `busy(path)` turns true. */
  set busyListener(listener: (path: string) => void) {
    this.#files.onBusy = listener
  }

  get(path: string): DirtyFile | undefined {
    return this.#files.get(path)
  }

  childrenOf(dir: string): DirtyFile[] {
    return this.#files.childrenOf(dir)
  }

  under(path: string): DirtyFile[] {
    return this.#files.under(path)
  }

  busy(path: string): boolean {
    return this.#files.busy(path)
  }

  /** Waits for a DirtyFile of `path` being created, so a namespace change sees it. */
  settled(path: string): Promise<void> {
    return this.#files.settled(path)
  }

  /** The DirtyFile of `path` with one more open handle, created once per path (`fill` copies the object's bytes first). */
  open(path: string, key: string, fill?: (file: DirtyFile) => Promise<void>): Promise<DirtyFile> {
    return this.#files.open(path, () => this.#files.create(this.#store, this.#journal, path, key, fill))
  }

  /** The staged file of `path` with one more open handle (counted before anything can retire it), if there is one. */
  attach(path: string): DirtyFile | undefined {
    return this.#files.attach(path)
  }

  /** A write through a handle; a file written front to back starts uploading its complete parts. */
  async write(file: DirtyFile, data: Buffer, position: number): Promise<number> {
    const n = await file.write(data, position)
    this.#uploader.stream(file)
    return n
  }

  async truncate(file: DirtyFile, size: number): Promise<void> {
    await file.truncate(size)
    this.#uploader.stream(file)
  }

  /** A writer closed a descriptor (FUSE flush): upload now (sync) or soon (async). */
  async closed(file: DirtyFile): Promise<void> {
    if (file.poisoned !== undefined) throw file.poisoned
    if (file.unlinked || file.clean) return
    if (this.#config.mode === 'sync') return this.#commitAndUpload(file)
    await this.#journal.commit(file, true)
    crashPoint('after-commit', file.key)
    if (file.reservation === undefined) file.reservation = await this.#backlog.admit(file.committed?.size ?? 0)
    this.#schedule(file)
  }

  /** fsync(2): the bytes are in the bucket when this returns, in either mode. */
  async fsync(file: DirtyFile): Promise<void> {
    if (file.poisoned !== undefined) throw file.poisoned
    if (file.unlinked) return
    await this.#commitAndUpload(file)
  }

  /** After a truncate with no handle: upload after TRUNCATE_GRACE_MS unless an open attaches (its close will). */
  closeSoon(file: DirtyFile): void {
    setTimeout(() => {
      if (file.openHandles > 0 || file.unlinked || file.retired) return
      this.closed(file).catch(() => {
        /* logged in upload; retried by flush, unmount or the next mount */
      })
    }, TRUNCATE_GRACE_MS).unref()
  }

  /** One handle of `file` was released. */
  async released(file: DirtyFile): Promise<void> {
    file.openHandles--
    if (file.openHandles > 0) return
    if (file.poisoned !== undefined) {
      this.#uploader.dropStream(file, 'a write failed')
      this.#log.warn({ path: file.path, err: file.poisoned }, 'a write failed: changes not closed before it are dropped; committed ones are kept')
      if (!file.dropUncommitted()) {
        this.#retire(file)
        await this.#finishRetire(file)
        this.#listener.dropped(file.path)
        return
      }
    }
    await this.#retireIfDone(file)
  }

  /** Uploads every pending file at or below `path` (committing open ones) and reports what happened. */
  flush(path: string): Promise<FlushReport> {
    return flushFiles(this.under(path), f => (f.poisoned === undefined ? this.#commitAndUpload(f) : this.#uploadCommitted(f)))
  }

  /**
   * Runs `work` (a rename) with no upload of `file` in flight: one in flight is cancelled,
   * and `work` runs after it settled; uploads asked for later run after `work`.
   */
  exclusive<T>(file: DirtyFile, work: () => Promise<T>): Promise<T> {
    file.abortUpload()
    return file.serialize(work)
  }

  /**
   * Inside `exclusive`: `file` is now `path` at `key`, durably. A staged file that was at
   * `path` is discarded after the journal names the new key, so a crash in between
   * leaves the newer journal winning at recovery (its seq is higher).
   */
  async move(file: DirtyFile, path: string, key: string): Promise<void> {
    this.#uploader.dropStream(file, 'renamed')
    const displaced = this.#files.get(path)
    // A file retired (destroyed) while the rename waited its turn is never registered again.
    if (!file.retired) {
      this.#files.forget(file)
      Object.assign(file, { path, key })
      this.#files.set(path, file)
      await this.#journal.persist(file, true)
      crashPoint('after-rename-journal', key)
    }
    if (displaced !== undefined && displaced !== file) await this.#discard(displaced, path)
  }

  /** After a namespace change: upload what is committed, or retire what is done. */
  resume(file: DirtyFile): void {
    if (file.committed !== undefined) this.#schedule(file)
    else this.#retireIfDone(file).catch(err => this.#log.warn({ err, path: file.path }, 'could not retire a staged file'))
  }

  /** `path` was unlinked: its bytes never reach the bucket. Cancels and waits for an upload in flight. */
  async discard(path: string): Promise<void> {
    await this.settled(path)
    const file = this.#files.get(path)
    if (file !== undefined) await this.#discard(file, path)
  }

  /** Re-registers what an earlier daemon committed but did not upload, and uploads it. */
  async recover(pathOfKey: (key: string) => string): Promise<number> {
    const { files } = await recoverStaging(this.#store, this.#config.source, pathOfKey, this.#config.recoveredKeepMs, this.#log)
    for (const file of files) {
      this.#files.set(file.path, file)
      this.#log.warn({ key: file.key, bytes: file.size }, 'uploading a file closed before the previous daemon stopped')
      this.#schedule(file)
    }
    return files.length
  }

  stats(): WriteStats {
    const u = this.#uploader
    return { ...this.#files.pending(), uploads: u.uploads, uploadedBytes: u.uploadedBytes, failures: u.failures, staging: this.#store.budget.stats() }
  }

  /** Commit, then upload until that generation is in the bucket; on failure keep it durably staged. */
  async #commitAndUpload(file: DirtyFile): Promise<void> {
    await this.#journal.commit(file, false)
    try {
      await this.#uploadCommitted(file)
    } catch (err) {
      await this.#journal.makeDurable(file).catch((e: unknown) => this.#log.error({ err: e, path: file.path }, 'could not stage a failed upload durably'))
      throw err
    }
  }

  /** Uploads until what is committed now is in the bucket (a rename may cancel and re-target an attempt). */
  async #uploadCommitted(file: DirtyFile): Promise<void> {
    const target = file.committed?.generation
    if (target === undefined) return
    while (!file.unlinked && file.uploadedGeneration < target && file.committed !== undefined) {
      try {
        await this.#upload(file)
      } catch (err) {
        if (!(err instanceof UploadAbortedError)) throw err
      }
    }
  }

  #schedule(file: DirtyFile): void {
    this.#upload(file).catch(() => {
      /* logged in #upload; retried by flush, fsync, unmount or the next mount */
    })
  }

  /** One upload of the latest committed generation, after any earlier task of the file. */
  #upload(file: DirtyFile): Promise<void> {
    return file.serialize(async () => {
      const snap = file.committed
      if (snap === undefined || file.unlinked) return
      if (snap.generation <= file.uploadedGeneration) return this.#uploadDone(file, snap)
      await this.#uploader.upload(file, snap, etag => this.#listener.uploaded(file, etag, snap))
      await this.#uploadDone(file, snap)
    })
  }

  async #uploadDone(file: DirtyFile, snap: Snapshot): Promise<void> {
    if (file.committed !== snap) return
    file.clearCommitted()
    if (file.openHandles === 0 && file.clean) {
      this.#retire(file)
      await this.#finishRetire(file)
      return
    }
    await this.#journal.persist(file, false)
  }

  async #retireIfDone(file: DirtyFile): Promise<void> {
    if (file.openHandles > 0 || file.retired) return
    if (!file.unlinked && !(file.clean && file.committed === undefined)) return
    this.#retire(file)
    await this.#finishRetire(file)
  }

  /** Forgets `file` at once (synchronously), so a new open of its path starts afresh. */
  #retire(file: DirtyFile): void {
    file.retired = true
    this.#uploader.dropStream(file, 'retired')
    this.#files.forget(file)
    file.clearCommitted()
  }

  async #finishRetire(file: DirtyFile): Promise<void> {
    await file.destroy()
    if (!file.unlinked) await this.#journal.remove(file, file.journalDurable)
  }

  /** Like `discard`, from inside `exclusive(file, …)` (no upload of it can be in flight). */
  async discardInside(file: DirtyFile, path: string): Promise<void> {
    await this.#discard(file, path, false)
  }

  async #discard(file: DirtyFile, path: string, waitForUpload = true): Promise<void> {
    this.#files.forget(file, path)
    file.unlinked = true
    this.#uploader.dropStream(file, 'unlinked')
    if (waitForUpload) {
      file.abortUpload()
      await file.serialize(async () => {})
    }
    file.clearCommitted()
    await this.#journal.remove(file, true)
    crashPoint('after-unlink-journal', file.key)
    if (file.openHandles === 0 && !file.retired) {
      file.retired = true
      await file.destroy()
    }
  }

  /** chmod/chown/utimens changed a staged file's attributes: its journal carries them (see journal.ts). */
  journalAttributes(file: DirtyFile): Promise<void> {
    return this.#journal.persist(file, file.journalDurable)
  }
}
