/**
 * Sends committed snapshots of DirtyFiles to the bucket, in the upload lane (a bounded
 * queue apart from the read path's, with a byte budget for the part buffers the client
 * says an upload holds), and feeds the streamed upload of a file written front to back
 * (streaming-upload.ts) so its close sends only the tail. WriteBack decides what to
 * upload and when (ordering per file, retirement, journals); this module only moves
 * bytes and counts them.
 */
import type { Logger } from 'pino'
import { FetchQueue, PRIORITY_FOREGROUND } from '../cache/fetch-queue.js'
import { UploadAbortedError } from '../errors.js'
import { withAttributes } from '../metadata/s3fs-attributes.js'
import type { ObjectClient } from '../s3/object-client.js'
import { contentTypeFor } from '../metadata/content-type.js'
import { crashPoint } from './crash-points.js'
import type { DirtyFile, Snapshot } from './dirty-file.js'
import type { StagingStore } from './staging-store.js'
import { StreamingUpload } from './streaming-upload.js'

/** Parts of one streamed upload in flight at once. */
const STREAM_PARTS_IN_FLIGHT = 4

export interface SnapshotUploaderConfig {
  /** Files uploaded at once. */
  readonly uploadConcurrency: number
  /** Memory the uploads' part buffers may hold at once. */
  readonly uploadBufferBudgetBytes: number
  /** Part size of streamed uploads; 0 turns streaming off. */
  readonly streamPartBytes: number
}

export class SnapshotUploader {
  readonly #config: SnapshotUploaderConfig
  readonly #store: StagingStore
  readonly #client: ObjectClient
  readonly #log: Logger
  readonly #lane: FetchQueue
  uploads = 0
  uploadedBytes = 0
  failures = 0

  constructor(config: SnapshotUploaderConfig, store: StagingStore, client: ObjectClient, log: Logger) {
    this.#config = config
    this.#store = store
    this.#client = client
    this.#log = log
    this.#lane = new FetchQueue({ concurrency: config.uploadConcurrency, inFlightBudgetBytes: config.uploadBufferBudgetBytes, maxQueuedPrefetch: 0 })
  }

  /**
   * Uploads `snap` of `file` (finishing its streamed upload when it can), then runs
   * `uploaded` while the snapshot is still held (it may read the snapshot's bytes).
   */
  async upload(file: DirtyFile, snap: Snapshot, uploaded: (etag: string) => Promise<void>): Promise<void> {
    file.hold(snap.data)
    const key = file.key
    const signal = file.startUpload()
    this.#store.budget.uploading(1)
    const t0 = performance.now()
    try {
      const budget = Math.min(this.#client.uploadBufferBytes(snap.size), this.#config.uploadBufferBudgetBytes)
      const streamed =
        file.stream === undefined ? undefined : await this.#lane.run(budget, PRIORITY_FOREGROUND, () => this.#finishStream(file, snap, key, signal))
      const etag =
        streamed ??
        (await this.#lane.run(budget, PRIORITY_FOREGROUND, () =>
          this.#client.upload({
            key,
            filePath: this.#store.dataPath(snap.data.name),
            size: snap.size,
            signal,
            metadata: withAttributes(file.baseMetadata, { ...file.attrs, mtimeMs: snap.mtimeMs }),
            ...optionalContentType(contentTypeFor(key)),
            onProgress: sent => {
              file.uploadSent = sent
              if (sent < snap.size) crashPoint('mid-upload', key)
            },
          }),
        ))
      crashPoint('after-upload', key)
      file.uploadedGeneration = Math.max(file.uploadedGeneration, snap.generation)
      file.lastError = undefined
      this.uploads++
      this.uploadedBytes += snap.size
      this.#log.info({ path: file.path, bytes: snap.size, ms: Math.round(performance.now() - t0) }, 'uploaded')
      await uploaded(etag)
    } catch (err) {
      if (err instanceof UploadAbortedError) this.#log.debug({ path: file.path, key }, 'upload cancelled (renamed or removed)')
      else {
        // A failing store must not block async closes forever: the data stays staged, uncounted.
        file.reservation?.()
        file.reservation = undefined
        file.lastError = err
        this.failures++
        this.#log.error({ path: file.path, key, err }, 'upload failed; the data stays staged')
      }
      throw err
    } finally {
      file.endUpload()
      file.release(snap.data)
      this.#store.budget.uploading(-1)
    }
  }

  /** Starts, feeds or abandons the streamed upload of a file never committed yet. */
  stream(file: DirtyFile): void {
    const partBytes = this.#config.streamPartBytes
    if (partBytes <= 0 || file.committed !== undefined || file.uploadedGeneration > 0 || file.unlinked) return
    if (!file.appendOnly) {
      this.dropStream(file, 'not written front to back')
      return
    }
    if (file.stream === undefined) {
      if (file.size < 2 * partBytes) return
      // The object's mtime is not known before the last byte: a streamed object stores mode and owners only.
      file.stream = new StreamingUpload(
        this.#client,
        file.key,
        partBytes,
        STREAM_PARTS_IN_FLIGHT,
        (p, l) => file.readSettled(p, l),
        this.#log,
        () => withAttributes(file.baseMetadata, { ...file.attrs, mtimeMs: undefined, atimeMs: undefined, ctimeMs: undefined }),
      )
    }
    file.stream.grew(file.size)
  }

  dropStream(file: DirtyFile, why: string): void {
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
}

function optionalContentType(contentType: string | undefined): { contentType?: string } {
  return contentType === undefined ? {} : { contentType }
}
