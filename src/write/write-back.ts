/**
 * Owns every DirtyFile (one per path, created atomically) and moves their
 * committed generations to the bucket.
 *
 * - `--write-mode sync`: close (FUSE flush) commits and uploads that exact snapshot,
 *   returning once it is in the bucket. Only if the upload fails is the snapshot made
 *   durable on local disk (fsync + journal), so flush, unmount or the next mount retry it.
 * - `--write-mode async`: close makes the snapshot durable (fsync of the data, journal,
 *   fsync of the directory), waits for room in the backlog, and returns; the upload
 *   runs in the background.
 * - fsync(2), `s3cachefs flush` and unmount commit and upload in both modes, and wait.
 * Uploads run in their own lane (a bounded queue apart from the read path's, with a
 * byte budget for in-memory part buffers). A rename or unlink of a file cancels its
 * upload in flight and runs after it (see `exclusive`). A file is retired (staging
 * deleted) once clean and no handle holds it.
 */
import type { Logger } from 'pino'
import { FetchQueue, PRIORITY_FOREGROUND } from '../cache/fetch-queue.js'
import { UploadAbortedError, messageOf } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { SingleFlight } from '../util/single-flight.js'
import { Backlog, type BacklogConfig } from './backlog.js'
import { crashPoint } from './crash-points.js'
import { DataFile } from './data-file.js'
import { DirtyFile, type Snapshot } from './dirty-file.js'
import { JOURNAL_VERSION, nextSeq, type SourceId } from './journal.js'
import { recoverStaging } from './recovery.js'
import { StreamingUpload } from './streaming-upload.js'
import type { StagingStore } from './staging-store.js'
import { toS3fsMetadata } from '../metadata/s3fs-attributes.js'
import { contentTypeFor } from './content-type.js'

export type WriteMode = 'sync' | 'async'

export interface WriteBackConfig {
  readonly mode: WriteMode
  readonly source: SourceId
  /** Files uploaded at once. */
  readonly uploadConcurrency: number
  /** Memory the uploads' part buffers may hold at once. */
  readonly uploadBufferBudgetBytes: number
  /** Async mode: closed files (and their bytes) waiting for upload before close waits. */
  readonly backlog: BacklogConfig
  /** How long recovered/ keeps what recovery set aside. */
  readonly recoveredKeepMs: number
  /** Part size of uploads streamed while a file is written front to back; 0 turns streaming off. */
  readonly streamPartBytes: number
}

/** Parts of one streamed upload in flight at once. */
const STREAM_PARTS_IN_FLIGHT = 4

/** What the filesystem hears from the write path. */
export interface WriteListener {
  /** A snapshot reached the bucket under `etag`: update metadata, adopt into the block cache. */
  uploaded(file: DirtyFile, etag: string, snap: Snapshot): Promise<void>
  /** Staged changes were dropped (a failed write): the bucket's object is the truth again. */
  dropped(path: string): void
}

/** lib-storage holds up to 8 parts of 8 MiB per upload in memory (larger parts only beyond 80 GB). */
const UPLOAD_BUFFER_BYTES = 64 * 1024 * 1024
/** How long a truncated file with no open handle waits for an open before it is uploaded. */
const TRUNCATE_GRACE_MS = 1000

export interface FlushReport {
  readonly uploaded: ReadonlyArray<{ path: string; bytes: number }>
  readonly failed: ReadonlyArray<{ path: string; error: string }>
}

export interface WriteStats {
  /** Files with content not yet in the bucket. */
  readonly pending: number
  readonly pendingBytes: number
  /** Bytes sent by uploads now running. */
  readonly inFlightBytes: number
  readonly uploads: number
  readonly uploadedBytes: number
  readonly failures: number
}

export class WriteBack {
  readonly #config: WriteBackConfig
  readonly #store: StagingStore
  readonly #client: ObjectClient
  readonly #log: Logger
  readonly #lane: FetchQueue
  readonly #backlog: Backlog
  readonly #files = new Map<string, DirtyFile>()
  readonly #creating = new SingleFlight<DirtyFile>()
  #listener: WriteListener = { uploaded: async () => {}, dropped: () => {} }
  #uploads = 0
  #uploadedBytes = 0
  #failures = 0

  constructor(config: WriteBackConfig, store: StagingStore, client: ObjectClient, log: Logger) {
    this.#config = config
    this.#store = store
    this.#client = client
    this.#log = log
    this.#lane = new FetchQueue({ concurrency: config.uploadConcurrency, inFlightBudgetBytes: config.uploadBufferBudgetBytes, maxQueuedPrefetch: 0 })
    this.#backlog = new Backlog(config.backlog)
  }

  set listener(listener: WriteListener) {
    this.#listener = listener
  }

  get(path: string): DirtyFile | undefined {
    return this.#files.get(path)
  }

  /** Dirty files directly inside the directory `dir`. */
  childrenOf(dir: string): DirtyFile[] {
    const prefix = dir === '/' ? '/' : dir + '/'
    return [...this.#files.values()].filter(f => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes('/'))
  }

  /** Dirty files at or below `path`. */
  under(path: string): DirtyFile[] {
    if (path === '/') return [...this.#files.values()]
    return [...this.#files.values()].filter(f => f.path === path || f.path.startsWith(path + '/'))
  }

  /** Whether `path` has a staged file or one being created (a read-only open must then await `settled`). */
  busy(path: string): boolean {
    return this.#files.has(path) || this.#creating.pending(path) !== undefined
  }

  /** Waits for a DirtyFile of `path` being created, so a namespace change sees it. */
  async settled(path: string): Promise<void> {
    await this.#creating.pending(path)?.catch(() => {})
  }

  /**
   * The DirtyFile of `path` with one more open handle: the existing one, or a new one
   * (one creation per path however many opens race; `fill` copies the object's bytes
   * first, omitted for an empty or truncated file).
   */
  async open(path: string, key: string, fill?: (file: DirtyFile) => Promise<void>): Promise<DirtyFile> {
    for (;;) {
      const existing = this.#files.get(path)
      if (existing !== undefined) {
        existing.openHandles++
        return existing
      }
      const created = await this.#creating.run(path, () => this.#create(path, key, fill))
      // Between creation and this continuation the file may have been retired or unlinked.
      if (this.#files.get(path) === created) {
        created.openHandles++
        return created
      }
    }
  }

  /** The staged file of `path` with one more open handle (counted before anything can retire it), if there is one. */
  attach(path: string): DirtyFile | undefined {
    const file = this.#files.get(path)
    if (file !== undefined) file.openHandles++
    return file
  }

  /** A write through a handle; a file written front to back starts uploading its complete parts. */
  async write(file: DirtyFile, data: Buffer, position: number): Promise<number> {
    const n = await file.write(data, position)
    this.#stream(file)
    return n
  }

  async truncate(file: DirtyFile, size: number): Promise<void> {
    await file.truncate(size)
    this.#stream(file)
  }

  /** A writer closed a descriptor (FUSE flush): upload now (sync) or soon (async). */
  async closed(file: DirtyFile): Promise<void> {
    if (file.poisoned !== undefined) throw file.poisoned
    if (file.unlinked || file.clean) return
    if (this.#config.mode === 'sync') return this.#commitAndUpload(file)
    await this.#commit(file, true)
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
      this.closed(file).catch(() => { /* logged in upload; retried by flush, unmount or the next mount */ })
    }, TRUNCATE_GRACE_MS).unref()
  }

  /** One handle of `file` was released. */
  async released(file: DirtyFile): Promise<void> {
    file.openHandles--
    if (file.openHandles > 0) return
    if (file.poisoned !== undefined) {
      this.#dropStream(file, 'a write failed')
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
  async flush(path: string): Promise<FlushReport> {
    const uploaded: Array<{ path: string; bytes: number }> = []
    const failed: Array<{ path: string; error: string }> = []
    await Promise.all(this.under(path).map(async f => {
      if (f.unlinked || (f.clean && f.committed === undefined)) return
      try {
        if (f.poisoned === undefined) await this.#commitAndUpload(f)
        else await this.#uploadCommitted(f)
        uploaded.push({ path: f.path, bytes: f.size })
      } catch (err) {
        failed.push({ path: f.path, error: messageOf(err) })
      }
    }))
    return { uploaded, failed }
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
    this.#dropStream(file, 'renamed')
    const displaced = this.#files.get(path)
    if (this.#files.get(file.path) === file) this.#files.delete(file.path)
    file.path = path
    file.key = key
    this.#files.set(path, file)
    await this.#persist(file, true)
    crashPoint('after-rename-journal', key)
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
    let pending = 0
    let pendingBytes = 0
    let inFlightBytes = 0
    for (const f of this.#files.values()) {
      inFlightBytes += f.uploadSent
      if (f.unlinked || (f.clean && f.committed === undefined)) continue
      pending++
      pendingBytes += f.committed?.size ?? f.size
    }
    return { pending, pendingBytes, inFlightBytes, uploads: this.#uploads, uploadedBytes: this.#uploadedBytes, failures: this.#failures }
  }

  /** Starts, feeds or abandons the streamed upload of a file never committed yet. */
  #stream(file: DirtyFile): void {
    const partBytes = this.#config.streamPartBytes
    if (partBytes <= 0 || file.committed !== undefined || file.uploadedGeneration > 0 || file.unlinked) return
    if (!file.appendOnly) {
      this.#dropStream(file, 'not written front to back')
      return
    }
    if (file.stream === undefined) {
      if (file.size < 2 * partBytes) return
      // The object's mtime is not known before the last byte: a streamed object stores mode and owners only.
      file.stream = new StreamingUpload(this.#client, file.key, partBytes, STREAM_PARTS_IN_FLIGHT, (p, l) => file.readSettled(p, l), this.#log,
        () => ({ ...file.baseMetadata, ...toS3fsMetadata({ ...file.attrs, mtimeMs: undefined, atimeMs: undefined, ctimeMs: undefined }) }))
    }
    file.stream.grew(file.size)
  }

  #dropStream(file: DirtyFile, why: string): void {
    file.stream?.abandon(why)
    file.stream = undefined
  }

  /** The ETag of `snap` uploaded by finishing its streamed upload, or undefined when it cannot be (upload it whole). */
  async #finishStream(file: DirtyFile, snap: Snapshot, key: string, signal: AbortSignal): Promise<string | undefined> {
    const stream = file.stream
    file.stream = undefined
    if (stream === undefined || !stream.usable || stream.key !== key || snap.size < stream.coveredBytes) {
      stream?.abandon('not usable for this generation')
      return undefined
    }
    try {
      return await stream.finish(snap.size, (p, l) => snap.data.read(p, l), signal)
    } catch (err) {
      if (signal.aborted) throw err
      this.#log.warn({ err, key }, 'streamed upload failed; uploading the file whole')
      return undefined
    }
  }

  async #create(path: string, key: string, fill?: (file: DirtyFile) => Promise<void>): Promise<DirtyFile> {
    const { name, handle } = await this.#store.createData()
    // A new or truncated file is generation 1 (dirty); a copy of the object is generation 0 (clean).
    const data = new DataFile(name, handle, 0, fill === undefined ? 1 : 0)
    const file = new DirtyFile({ id: this.#store.newId(), path, key, store: this.#store, current: data, uploadedGeneration: 0, mtimeMs: Date.now() })
    try {
      if (fill !== undefined) await fill(file)
      await this.#persist(file, false)
    } catch (err) {
      await file.destroy()
      await this.#store.removeJournal(file.id, false)
      throw err
    }
    this.#files.set(path, file)
    return file
  }

  /** Freezes what the writers wrote as the committed generation; `durable` puts it on disk for good. */
  async #commit(file: DirtyFile, durable: boolean): Promise<void> {
    if (!file.clean) {
      const snap = await file.snapshot()
      if (snap.generation > (file.committed?.generation ?? file.uploadedGeneration)) file.setCommitted(snap)
      else file.release(snap.data)
    }
    if (durable) await this.#makeDurable(file)
  }

  async #makeDurable(file: DirtyFile): Promise<void> {
    const snap = file.committed
    if (snap === undefined || file.unlinked) return
    await snap.data.handle.sync()
    crashPoint('after-data-sync', file.key)
    await this.#persist(file, true)
  }

  /** Commit, then upload until that generation is in the bucket; on failure keep it durably staged. */
  async #commitAndUpload(file: DirtyFile): Promise<void> {
    await this.#commit(file, false)
    try {
      await this.#uploadCommitted(file)
    } catch (err) {
      await this.#makeDurable(file).catch((e: unknown) => this.#log.error({ err: e, path: file.path }, 'could not stage a failed upload durably'))
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
    this.#upload(file).catch(() => { /* logged in #upload; retried by flush, fsync, unmount or the next mount */ })
  }

  /** One upload of the latest committed generation, after any earlier task of the file. */
  #upload(file: DirtyFile): Promise<void> {
    return file.serialize(async () => {
      const snap = file.committed
      if (snap === undefined || file.unlinked) return
      if (snap.generation <= file.uploadedGeneration) return this.#uploadDone(file, snap)
      file.hold(snap.data)
      const key = file.key
      const signal = file.startUpload()
      const t0 = performance.now()
      try {
        const budget = Math.min(snap.size, UPLOAD_BUFFER_BYTES)
        const streamed = file.stream === undefined ? undefined
          : await this.#lane.run(budget, PRIORITY_FOREGROUND, () => this.#finishStream(file, snap, key, signal))
        const etag = streamed ?? await this.#lane.run(budget, PRIORITY_FOREGROUND, () => this.#client.upload({
          key, filePath: this.#store.dataPath(snap.data.name), size: snap.size, signal,
          metadata: { ...file.baseMetadata, ...toS3fsMetadata({ ...file.attrs, mtimeMs: snap.mtimeMs }) },
          ...optionalContentType(contentTypeFor(key)),
          onProgress: sent => {
            file.uploadSent = sent
            if (sent < snap.size) crashPoint('mid-upload', key)
          },
        }))
        crashPoint('after-upload', key)
        file.uploadedGeneration = Math.max(file.uploadedGeneration, snap.generation)
        file.lastError = undefined
        this.#uploads++
        this.#uploadedBytes += snap.size
        this.#log.info({ path: file.path, bytes: snap.size, ms: Math.round(performance.now() - t0) }, 'uploaded')
        await this.#listener.uploaded(file, etag, snap)
      } catch (err) {
        if (!(err instanceof UploadAbortedError)) {
          // A failing store must not block async closes forever: the data stays staged, uncounted.
          file.reservation?.()
          file.reservation = undefined
          file.lastError = err
          this.#failures++
          this.#log.error({ path: file.path, key, err }, 'upload failed; the data stays staged')
        }
        throw err
      } finally {
        file.endUpload()
        file.release(snap.data)
      }
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
    await this.#persist(file, false)
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
    this.#dropStream(file, 'retired')
    if (this.#files.get(file.path) === file) this.#files.delete(file.path)
    file.clearCommitted()
  }

  async #finishRetire(file: DirtyFile): Promise<void> {
    await file.destroy()
    if (!file.unlinked) await this.#journal(file, () => this.#store.removeJournal(file.id, file.journalDurable))
  }

  /** Like `discard`, from inside `exclusive(file, …)` (no upload of it can be in flight). */
  async discardInside(file: DirtyFile, path: string): Promise<void> {
    await this.#discard(file, path, false)
  }

  async #discard(file: DirtyFile, path: string, waitForUpload = true): Promise<void> {
    if (this.#files.get(path) === file) this.#files.delete(path)
    file.unlinked = true
    this.#dropStream(file, 'unlinked')
    if (waitForUpload) {
      file.abortUpload()
      await file.serialize(async () => {})
    }
    file.clearCommitted()
    await this.#journal(file, () => this.#store.removeJournal(file.id, true))
    crashPoint('after-unlink-journal', file.key)
    if (file.openHandles === 0 && !file.retired) {
      file.retired = true
      await file.destroy()
    }
  }

  /**
   * Rewrites the journal of `file` from its state when the write runs (not when asked),
   * after every earlier journal operation of the file: the last one written is the newest.
   */
  #persist(file: DirtyFile, durable: boolean): Promise<void> {
    return this.#journal(file, async () => {
      if (file.unlinked || file.retired) return
      const c = file.committed
      await this.#store.writeJournal(file.id, {
        version: JOURNAL_VERSION, seq: nextSeq(), bucket: this.#config.source.bucket, prefix: this.#config.source.prefix, key: file.key,
        committed: c === undefined ? null : { data: c.data.name, size: c.size, mtimeMs: c.mtimeMs },
        working: file.workingName, attrs: { ...file.attrs, mtimeMs: file.mtimeMs },
      }, durable)
      if (durable && c !== undefined) file.journalDurable = true
    })
  }

  /** chmod/chown/utimens changed a staged file's attributes: its journal carries them (see journal.ts). */
  journalAttributes(file: DirtyFile): Promise<void> {
    return this.#persist(file, file.journalDurable)
  }

  /** Journal operations of one file run one at a time, in order. */
  #journal(file: DirtyFile, op: () => Promise<void>): Promise<void> {
    const next = file.journalTail.then(op, op)
    file.journalTail = next.catch(() => {})
    return next
  }
}

function optionalContentType(contentType: string | undefined): { contentType?: string } {
  return contentType === undefined ? {} : { contentType }
}
