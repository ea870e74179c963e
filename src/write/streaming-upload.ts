/**
 * Uploads a file while it is being written, for the common checkpoint shape: a new
 * (or truncated) file written front to back. Each complete part is sent as soon as
 * the writer has moved past it, so at close only the tail is left to send and the
 * upload is completed: a close of a multi-gigabyte checkpoint costs about one part.
 *
 * Correctness rests on DirtyFile's append-only tracking: while the file has only
 * been appended to, bytes below its size never change, so parts sent early equal
 * the bytes of whatever generation is committed later. Any other write, a truncate,
 * a rename or an unlink abandons the stream (aborting its multipart upload) and the
 * committed generation is uploaded whole, as without streaming. An upload cut short
 * by a crash leaves an incomplete multipart upload in the bucket, which S3 drops by
 * the bucket's AbortIncompleteMultipartUpload lifecycle rule (see docs/SEMANTICS.md);
 * the journal makes the next mount upload the data whole.
 */
import type { Logger } from 'pino'
import { UnexpectedResponseError, UploadAbortedError } from '../errors.js'
import type { CompletedPart, ObjectClient, ObjectMetadata } from '../s3/object-client.js'
import { contentTypeFor } from '../metadata/content-type.js'
import { crashPoint } from './crash-points.js'

/** S3 allows at most this many parts; a longer stream is abandoned (the whole upload takes over). */
const MAX_PARTS = 10_000

export class StreamingUpload {
  readonly key: string
  readonly #client: ObjectClient
  readonly #partBytes: number
  readonly #maxInFlight: number
  readonly #log: Logger
  readonly #readAt: (position: number, length: number) => Promise<Buffer>
  #uploadId: Promise<string> | undefined
  readonly #parts: Array<Promise<CompletedPart>> = []
  /** Bytes covered by parts started so far. */
  #covered = 0
  #inFlight = 0
  #waiting: Array<() => void> = []
  #failed: unknown = undefined
  #abandoned = false
  /** User metadata for the object, fixed when the multipart upload is created (its first part). */
  readonly #metadata: () => ObjectMetadata

  constructor(
    client: ObjectClient,
    key: string,
    partBytes: number,
    maxInFlight: number,
    readAt: (position: number, length: number) => Promise<Buffer>,
    log: Logger,
    metadata: () => ObjectMetadata = () => ({}),
  ) {
    this.#metadata = metadata
    this.#client = client
    this.key = key
    this.#partBytes = partBytes
    this.#maxInFlight = maxInFlight
    this.#readAt = readAt
    this.#log = log
  }

  /** Whether the stream can still complete the upload. */
  get usable(): boolean {
    return !this.#abandoned && this.#failed === undefined
  }

  get coveredBytes(): number {
    return this.#covered
  }

  /** The file has `size` bytes written front to back: start a part for every complete one not yet started. */
  grew(size: number): void {
    while (this.usable && size - this.#covered >= this.#partBytes) {
      if (this.#parts.length + 1 >= MAX_PARTS) return this.abandon('too many parts')
      const start = this.#covered
      this.#covered += this.#partBytes
      this.#parts.push(this.#sendPart(this.#parts.length + 1, start, this.#partBytes))
      this.#parts[this.#parts.length - 1]?.catch(() => {})
    }
  }

  /**
   * Sends what is left of the first `size` bytes (read with `readTail`, the committed
   * snapshot) and completes the upload; resolves with the object's ETag. Rejects if the
   * stream cannot complete: the caller then uploads the file whole.
   */
  async finish(size: number, readTail: (position: number, length: number) => Promise<Buffer>, signal: AbortSignal): Promise<string> {
    if (!this.usable || size < this.#covered) throw new UploadAbortedError(`${this.key}: streamed upload not usable`)
    const onAbort = () => this.abandon('cancelled')
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      while (size - this.#covered > 0) {
        const start = this.#covered
        const length = Math.min(this.#partBytes, size - start)
        this.#covered += length
        this.#parts.push(this.#sendPart(this.#parts.length + 1, start, length, readTail))
      }
      if (this.#parts.length === 0) throw new UploadAbortedError(`${this.key}: an empty file is uploaded whole`)
      const parts = await Promise.all(this.#parts)
      if (!this.usable) throw new UploadAbortedError(`${this.key}: streamed upload abandoned`)
      const id = await (this.#uploadId as Promise<string>)
      const etag = await this.#client.completeMultipart(this.key, id, parts)
      this.#abandoned = true // done: nothing more may be sent
      return etag
    } catch (err) {
      this.abandon('failed')
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Gives up: aborts the multipart upload in the background (its parts are dropped by S3). */
  abandon(why: string): void {
    if (this.#abandoned) return
    this.#abandoned = true
    for (const wake of this.#waiting.splice(0)) wake()
    const id = this.#uploadId
    if (id === undefined) return
    this.#log.debug({ key: this.key, why }, 'streamed upload abandoned')
    id.then(uid => Promise.allSettled(this.#parts).then(() => this.#client.abortMultipart(this.key, uid))).catch((err: unknown) =>
      this.#log.debug({ err, key: this.key }, 'could not abort a multipart upload'),
    )
  }

  async #sendPart(partNumber: number, start: number, length: number, readAt = this.#readAt): Promise<CompletedPart> {
    while (this.#inFlight >= this.#maxInFlight && this.usable) await new Promise<void>(resolve => this.#waiting.push(resolve))
    if (!this.usable) throw new UploadAbortedError(`${this.key}: streamed upload abandoned`)
    this.#inFlight++
    try {
      this.#uploadId ??= this.#client.createMultipart(this.key, this.#metadata(), contentTypeFor(this.key))
      const uploadId = await this.#uploadId
      const body = await readAt(start, length)
      if (body.length !== length) throw new UnexpectedResponseError(`${this.key}: staged file shorter than ${start + length} bytes`)
      const etag = await this.#client.uploadPart({ key: this.key, uploadId, partNumber, body })
      crashPoint('mid-upload', this.key)
      return { partNumber, etag }
    } catch (err) {
      this.#failed ??= err
      throw err
    } finally {
      this.#inFlight--
      this.#waiting.shift()?.()
    }
  }
}
