/**
 * Owns every DirtyFile (by path) and moves their bytes to the bucket.
 *
 * - `--write-mode sync`: closing a written file (FUSE flush) uploads it and returns
 *   only once the object is durable; a failure after retries fails the close (EIO,
 *   or EACCES when the bucket refuses writes) and the data stays staged.
 * - `--write-mode async`: closing journals the file as `closed` and returns; the
 *   upload runs in the background. Reads see the staged bytes meanwhile.
 * - fsync, `s3cachefs flush` and unmount upload and wait in both modes.
 * Uploads go through the same bounded FetchQueue as reads (their in-memory part
 * buffers count against its byte budget). A file is retired (staging deleted)
 * once it is clean and no handle holds it.
 */
import { open } from 'node:fs/promises'
import type { Logger } from 'pino'
import { type FetchQueue, PRIORITY_FOREGROUND } from '../cache/fetch-queue.js'
import { messageOf } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { uploadPartSize } from '../s3/sdk-object-client.js'
import { DirtyFile } from './dirty-file.js'
import type { StagingStore } from './staging-store.js'

export type WriteMode = 'sync' | 'async'

export interface WriteBackConfig {
  readonly mode: WriteMode
}

/** Told after each successful upload, to update metadata and the block cache. */
export type UploadedListener = (file: DirtyFile, etag: string, size: number) => Promise<void>

/** How long a truncated file with no open handle waits for an open before it is uploaded. */
const TRUNCATE_GRACE_MS = 1000

/** In-memory part buffers of one upload (lib-storage keeps up to 4 parts). */
const UPLOAD_BUFFER_PARTS = 4

export interface FlushReport {
  readonly uploaded: ReadonlyArray<{ path: string; bytes: number }>
  readonly failed: ReadonlyArray<{ path: string; error: string }>
}

export class WriteBack {
  readonly #config: WriteBackConfig
  readonly #staging: StagingStore
  readonly #client: ObjectClient
  readonly #queue: FetchQueue
  readonly #log: Logger
  readonly #files = new Map<string, DirtyFile>()
  #onUploaded: UploadedListener = async () => {}
  #uploads = 0
  #uploadedBytes = 0
  #failures = 0

  constructor(config: WriteBackConfig, staging: StagingStore, client: ObjectClient, queue: FetchQueue, log: Logger) {
    this.#config = config
    this.#staging = staging
    this.#client = client
    this.#queue = queue
    this.#log = log
  }

  set onUploaded(listener: UploadedListener) {
    this.#onUploaded = listener
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

  /** Starts staging `path`; `fill` copies the existing object's bytes first (omitted: an empty or truncated file). */
  async create(path: string, key: string, fill?: (file: DirtyFile) => Promise<void>): Promise<DirtyFile> {
    const { id, dataPath, handle } = await this.#staging.create()
    const file = new DirtyFile({ id, dataPath, handle, key, path, size: 0, mtimeMs: Date.now(), generation: fill ? 0 : 1 })
    try {
      if (fill) await fill(file)
      await this.#journal(file, 'open')
    } catch (err) {
      await file.close()
      await this.#staging.remove(id)
      throw err
    }
    this.#files.set(path, file)
    return file
  }

  /** A writer closed `file` (FUSE flush): upload now (sync) or soon (async). */
  async closed(file: DirtyFile): Promise<void> {
    if (file.failedWrite !== undefined) throw file.failedWrite
    if (file.unlinked || file.clean) return
    if (this.#config.mode === 'sync') return this.upload(file)
    await file.syncToDisk()
    await this.#journal(file, 'closed')
    this.upload(file).catch(() => { /* logged in upload; retried by flush, fsync, unmount or the next mount */ })
  }

  /** Like `closed`, after TRUNCATE_GRACE_MS, unless a handle opened `file` meanwhile (its close will). */
  closeSoon(file: DirtyFile): void {
    setTimeout(() => {
      if (file.openHandles > 0 || file.failedWrite !== undefined) return
      this.closed(file).catch(() => { /* logged in upload; retried by flush, unmount or the next mount */ })
    }, TRUNCATE_GRACE_MS).unref()
  }

  /** The last handle of `file` was released. */
  async released(file: DirtyFile): Promise<void> {
    file.openHandles--
    await this.#retireIfDone(file)
  }

  /** Uploads the current content of `file` and waits; one upload per file at a time. */
  upload(file: DirtyFile): Promise<void> {
    return file.serialize(async () => {
      if (file.failedWrite !== undefined) throw file.failedWrite
      if (file.unlinked || file.clean) return
      const generation = file.generation
      await file.syncToDisk()
      await this.#journal(file, 'closed')
      const size = file.size
      const t0 = performance.now()
      try {
        const bytes = Math.min(size, uploadPartSize(size) * UPLOAD_BUFFER_PARTS)
        const etag = await this.#queue.run(bytes, PRIORITY_FOREGROUND,
          () => this.#client.upload({ key: file.key, filePath: file.dataPath, size }))
        file.uploadedGeneration = generation
        file.lastError = undefined
        this.#uploads++
        this.#uploadedBytes += size
        this.#log.info({ path: file.path, bytes: size, ms: Math.round(performance.now() - t0) }, 'uploaded')
        await this.#onUploaded(file, etag, size)
      } catch (err) {
        file.lastError = err
        this.#failures++
        this.#log.error({ path: file.path, key: file.key, err }, 'upload failed; the data stays staged')
        throw err
      }
      await this.#retireIfDone(file)
    })
  }

  /** Uploads every pending file at or below `path` and reports what happened. */
  async flush(path: string): Promise<FlushReport> {
    const uploaded: Array<{ path: string; bytes: number }> = []
    const failed: Array<{ path: string; error: string }> = []
    await Promise.all(this.under(path).map(async f => {
      if (f.unlinked || f.clean || f.failedWrite !== undefined) return
      try {
        await this.upload(f)
        uploaded.push({ path: f.path, bytes: f.size })
      } catch (err) {
        failed.push({ path: f.path, error: messageOf(err) })
      }
    }))
    return { uploaded, failed }
  }

  /** `path` was unlinked: its bytes must never reach the bucket. Waits for an upload in flight. */
  async discard(path: string): Promise<void> {
    const file = this.#files.get(path)
    if (file === undefined) return
    file.unlinked = true
    this.#files.delete(path)
    await file.serialize(async () => {})
    if (file.openHandles === 0) await this.#drop(file)
  }

  /** Renames a dirty file: its next upload goes to the new key. */
  move(file: DirtyFile, path: string, key: string): void {
    this.#files.delete(file.path)
    file.path = path
    file.key = key
    file.generation++
    this.#files.set(path, file)
  }

  /** Re-registers files a previous daemon closed but did not upload, and uploads them. */
  async recover(pathOfKey: (key: string) => string): Promise<number> {
    const { closed, moved } = await this.#staging.recover()
    for (const key of moved) this.#log.warn({ key }, 'a file that was still open when the daemon stopped was moved to recovered/; it was not uploaded')
    for (const rec of closed) {
      const handle = await open(rec.dataPath, 'r+')
      const size = (await handle.stat()).size
      const file = new DirtyFile({
        id: rec.id, dataPath: rec.dataPath, handle, key: rec.journal.key, path: pathOfKey(rec.journal.key),
        size, mtimeMs: rec.journal.mtimeMs, generation: 1,
      })
      this.#files.set(file.path, file)
      this.#log.warn({ key: file.key, bytes: size }, 'uploading a file closed before the previous daemon stopped')
      this.upload(file).catch(() => {})
    }
    return closed.length
  }

  stats(): { pending: number; uploads: number; uploadedBytes: number; failures: number } {
    const pending = [...this.#files.values()].filter(f => !f.clean && !f.unlinked && f.failedWrite === undefined).length
    return { pending, uploads: this.#uploads, uploadedBytes: this.#uploadedBytes, failures: this.#failures }
  }

  async #retireIfDone(file: DirtyFile): Promise<void> {
    if (file.openHandles > 0) return
    if (file.failedWrite !== undefined) {
      this.#log.warn({ path: file.path, err: file.failedWrite }, 'a write failed; the staged file is dropped and the object left as it was')
    } else if (!(file.clean || file.unlinked)) {
      return
    }
    if (this.#files.get(file.path) === file) this.#files.delete(file.path)
    await this.#drop(file)
  }

  async #drop(file: DirtyFile): Promise<void> {
    await file.close()
    await this.#staging.remove(file.id)
  }

  async #journal(file: DirtyFile, state: 'open' | 'closed'): Promise<void> {
    await this.#staging.writeJournal(file.id, { version: 1, key: file.key, state, size: file.size, mtimeMs: file.mtimeMs })
  }
}
