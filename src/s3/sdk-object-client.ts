/**
 * The real ObjectClient: AWS SDK v3 against Amazon S3 or any S3-compatible endpoint.
 *
 * Credentials and region come from the SDK's standard chain (environment, shared
 * config and credentials files, `profile`, IMDS/ECS). Every call carries a deadline
 * (`requestDeadlineMs`) shorter than the FUSE operation timeout, and the SDK's
 * standard retry strategy (bounded attempts, backoff, throttling and 5xx aware).
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { createReadStream } from 'node:fs'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, UploadPartCommand, UploadPartCopyCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { NetworkError, PreconditionFailedError, UnexpectedResponseError, UploadAbortedError } from '../errors.js'
import type { CompletedPart, PartRequest, ListPage, ListPageRequest, ObjectClient, ObjectInfo, ObjectMetadata, RangeRequest, UploadRequest } from './object-client.js'
import { mapSdkError } from './sdk-error-mapper.js'

const MiB = 1024 * 1024
/** S3's limits: at most 10,000 parts, each at least 5 MiB (but the last), CopyObject up to 5 GiB. */
const MAX_PARTS = 10_000
const MIN_PART_BYTES = 8 * MiB // 8 MiB parts: S3's sweet spot for throughput per connection
const MAX_SINGLE_COPY_BYTES = 5 * 1024 * MiB
const COPY_PART_BYTES = 512 * MiB // server-side: large parts, few requests
/** Parts of one upload in flight at once (S3 serves ~80-90 MB/s per connection); lib-storage buffers this many parts in memory. */
const UPLOAD_PART_CONCURRENCY = 8
/** Uploads and copies move many bytes: they get a longer deadline than reads... */
const WRITE_DEADLINE_MS = 600_000
/** ...and a large upload more: it may not go slower than 1 MiB/s on average. */
const MIN_UPLOAD_BYTES_PER_MS = MiB / 1000

/** A GET whose body breaks off or comes short is tried this many times in all... */
const BODY_ATTEMPTS = 4
/** ...waiting this long times the attempt number between tries. */
const BODY_RETRY_DELAY_MS = 50

/** A failure while reading a response body (retried by getRange); `cause` is what the caller sees if it persists. */
class BodyError extends Error {
  override readonly cause: Error
  constructor(cause: Error) {
    super(cause.message)
    this.cause = cause
  }
}

/** An upload may take WRITE_DEADLINE_MS, more when large: an integer number of ms however large the file. */
export function uploadDeadlineMs(size: number): number {
  return Math.ceil(Math.max(WRITE_DEADLINE_MS, size / MIN_UPLOAD_BYTES_PER_MS))
}

/** Part size so that MAX_PARTS parts cover `size`, never below MIN_PART_BYTES, rounded to MiB. */
export function uploadPartSize(size: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MiB) * MiB)
}

export interface SdkClientConfig {
  readonly bucket: string
  readonly region?: string
  readonly endpointUrl?: string
  readonly forcePathStyle: boolean
  readonly profile?: string
  /** Sockets kept open to the store; at least the fetch concurrency. */
  readonly maxSockets: number
  /** Attempts per request including the first (SDK standard retry strategy). */
  readonly maxAttempts: number
  /** Time to establish a TCP/TLS connection before the attempt fails. */
  readonly connectTimeoutMs: number
  /** Overall deadline for one call, retries included. */
  readonly requestDeadlineMs: number
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/**
 * `bytes` as a Buffer that owns exactly its memory: a view into a larger (pooled)
 * allocation is copied out, so a cached small block never keeps a bigger one alive.
 */
/** Fills consecutive pieces of a known total length from chunks as they arrive. */
class PieceWriter {
  readonly pieces: Buffer[] = []
  filled = 0
  readonly #length: number

  private constructor(length: number) {
    this.#length = length
  }

  static forLength(length: number, pieceBytes: number): PieceWriter {
    const w = new PieceWriter(length)
    for (let at = 0; at < length; at += pieceBytes) w.pieces.push(Buffer.allocUnsafeSlow(Math.min(pieceBytes, length - at)))
    return w
  }

  /** Copies `chunk` in; false if it runs past the total length. */
  write(chunk: Uint8Array): boolean {
    if (this.filled + chunk.length > this.#length) return false
    let from = 0
    while (from < chunk.length) {
      const piece = this.pieces[this.#pieceAt(this.filled)] as Buffer
      const at = this.filled - this.#pieceStart(this.filled)
      const n = Math.min(piece.length - at, chunk.length - from)
      piece.set(chunk.subarray(from, from + n), at)
      from += n
      this.filled += n
    }
    return true
  }

  #pieceAt(offset: number): number {
    return Math.floor(offset / ((this.pieces[0] as Buffer).length))
  }

  #pieceStart(offset: number): number {
    return this.#pieceAt(offset) * (this.pieces[0] as Buffer).length
  }
}


export function stripEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '')
}

export class SdkObjectClient implements ObjectClient {
  readonly #s3: S3Client
  readonly #bucket: string
  readonly #deadlineMs: number

  constructor(config: SdkClientConfig) {
    this.#bucket = config.bucket
    this.#deadlineMs = config.requestDeadlineMs
    const agentOptions = { keepAlive: true, maxSockets: config.maxSockets }
    this.#s3 = new S3Client({
      ...(config.region !== undefined ? { region: config.region } : {}),
      ...(config.endpointUrl !== undefined ? { endpoint: config.endpointUrl } : {}),
      ...(config.profile !== undefined ? { profile: config.profile } : {}),
      forcePathStyle: config.forcePathStyle,
      maxAttempts: config.maxAttempts,
      // S3-compatible stores often reject the SDK's default trailing checksums on uploads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: config.connectTimeoutMs,
        requestTimeout: config.requestDeadlineMs,
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      },
    })
  }

  async checkBucket(): Promise<void> {
    await this.#call('HeadBucket', undefined, s => this.#s3.send(new HeadBucketCommand({ Bucket: this.#bucket }), s))
  }

  async head(key: string): Promise<ObjectInfo> {
    const out = await this.#call('HeadObject', key,
      s => this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), s))
    return {
      key,
      size: out.ContentLength ?? 0,
      etag: stripEtag(out.ETag),
      lastModified: out.LastModified ?? new Date(0),
      metadata: out.Metadata ?? {},
      ...(out.ContentType !== undefined ? { contentType: out.ContentType } : {}),
    }
  }

  async listPage(request: ListPageRequest): Promise<ListPage> {
    const out = await this.#call('ListObjectsV2', request.prefix, s => this.#s3.send(new ListObjectsV2Command({
      Bucket: this.#bucket,
      Prefix: request.prefix,
      ...(request.delimiter !== undefined ? { Delimiter: request.delimiter } : {}),
      ...(request.continuationToken !== undefined ? { ContinuationToken: request.continuationToken } : {}),
      ...(request.startAfter !== undefined ? { StartAfter: request.startAfter } : {}),
      MaxKeys: request.maxKeys ?? 1000,
    }), s))
    const objects: ObjectInfo[] = (out.Contents ?? []).flatMap(o => o.Key === undefined ? [] : [{
      key: o.Key, size: o.Size ?? 0, etag: stripEtag(o.ETag), lastModified: o.LastModified ?? new Date(0),
    }])
    const commonPrefixes = (out.CommonPrefixes ?? []).flatMap(p => p.Prefix === undefined ? [] : [p.Prefix])
    const next = out.IsTruncated === true ? out.NextContinuationToken : undefined
    if (out.IsTruncated === true && next === undefined) {
      throw new UnexpectedResponseError(`ListObjectsV2 s3://${this.#bucket}/${request.prefix}: truncated page without a continuation token`)
    }
    return { objects, commonPrefixes, ...(next !== undefined ? { nextContinuationToken: next } : {}) }
  }

  /**
   * The SDK retries failures before the response headers; a body that breaks off or
   * comes short is retried here (with the same If-Match), within the same deadline. A
   * response whose ETag is not the version asked for (a store that ignores If-Match)
   * is PreconditionFailedError, never data.
   */
  async getRange(request: RangeRequest): Promise<Buffer> {
    const wanted = request.endExclusive - request.start
    return (await this.getPieces(request, Math.max(1, wanted)))[0] ?? Buffer.alloc(0)
  }

  async getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    const wanted = request.endExclusive - request.start
    if (wanted <= 0) return []
    const where = `GetObject s3://${this.#bucket}/${request.key}`
    return this.#call('GetObject', request.key, async s => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#getOncePieces(request, wanted, pieceBytes, where, s)
        } catch (err) {
          if (!(err instanceof BodyError) || attempt >= BODY_ATTEMPTS || s.abortSignal.aborted) throw err instanceof BodyError ? err.cause : err
          await new Promise(r => setTimeout(r, BODY_RETRY_DELAY_MS * attempt))
        }
      }
    })
  }

  /** One GET whose body is copied, as it arrives, into pieces of `pieceBytes` (no buffer of the whole range). */
  async #getOncePieces(request: RangeRequest, wanted: number, pieceBytes: number, where: string, s: { abortSignal: AbortSignal }): Promise<Buffer[]> {
    const out = await this.#s3.send(new GetObjectCommand({
      Bucket: this.#bucket,
      Key: request.key,
      Range: `bytes=${request.start}-${request.endExclusive - 1}`,
      ...(request.ifMatch !== undefined ? { IfMatch: `"${request.ifMatch}"` } : {}),
    }), s)
    if (out.Body === undefined) throw new UnexpectedResponseError(`${where}: no body`)
    if (request.ifMatch !== undefined && out.ETag !== undefined && stripEtag(out.ETag) !== request.ifMatch) {
      out.Body.transformToByteArray().catch(() => {}) // drain and drop
      throw new PreconditionFailedError(`${where}: the store answered version ${stripEtag(out.ETag)}, not ${request.ifMatch}`)
    }
    const length = out.ContentLength ?? wanted
    if (length > wanted) {
      out.Body.transformToByteArray().catch(() => {})
      throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, got ${length}`)
    }
    const pieces = PieceWriter.forLength(length, pieceBytes)
    try {
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
        if (!pieces.write(chunk)) throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, got more than ${length}`)
      }
    } catch (err) {
      if (err instanceof UnexpectedResponseError) throw err
      throw new BodyError(mapSdkError(err, { operation: 'GetObject', bucket: this.#bucket, key: request.key }))
    }
    if (pieces.filled !== length) throw new BodyError(new NetworkError(`${where}: the body ended after ${pieces.filled} of ${length} bytes`))
    return pieces.pieces
  }

  async upload(request: UploadRequest): Promise<string> {
    return this.#call('PutObject', request.key, async s => {
      const body = request.body ?? (request.filePath === undefined || request.size === 0
        ? Buffer.alloc(0)
        : createReadStream(request.filePath, { start: 0, end: request.size - 1 }))
      const upload = new Upload({
        client: this.#s3,
        params: {
          Bucket: this.#bucket, Key: request.key, Body: body, ContentLength: request.size,
          ...(request.metadata !== undefined ? { Metadata: { ...request.metadata } } : {}),
          ...(request.contentType !== undefined ? { ContentType: request.contentType } : {}),
        },
        partSize: uploadPartSize(request.size),
        queueSize: UPLOAD_PART_CONCURRENCY,
        leavePartsOnError: false,
      })
      s.abortSignal.addEventListener('abort', () => { upload.abort().catch(() => {}) }, { once: true })
      const onProgress = request.onProgress
      if (onProgress !== undefined) upload.on('httpUploadProgress', p => { if (p.loaded !== undefined) onProgress(p.loaded) })
      const out = await upload.done()
      return stripEtag(out.ETag)
    }, uploadDeadlineMs(request.size), request.signal)
  }

  async copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    if (size <= MAX_SINGLE_COPY_BYTES) {
      const out = await this.#call('CopyObject', sourceKey, s => this.#s3.send(new CopyObjectCommand({
        Bucket: this.#bucket, Key: destKey, CopySource: copySource(this.#bucket, sourceKey),
        ...(metadata !== undefined ? { Metadata: { ...metadata }, MetadataDirective: 'REPLACE' as const } : {}),
        ...(metadata !== undefined && contentType !== undefined ? { ContentType: contentType } : {}),
      }), s), WRITE_DEADLINE_MS)
      return stripEtag(out.CopyObjectResult?.ETag)
    }
    // A multipart copy starts a new object: carry the source's metadata over explicitly.
    return this.#multipartCopy(sourceKey, destKey, size, metadata ?? (await this.head(sourceKey)).metadata ?? {})
  }

  async createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    const out = await this.#call('CreateMultipartUpload', key, s => this.#s3.send(new CreateMultipartUploadCommand({
      Bucket: this.#bucket, Key: key, ...(metadata !== undefined ? { Metadata: { ...metadata } } : {}),
      ...(contentType !== undefined ? { ContentType: contentType } : {}),
    }), s))
    if (out.UploadId === undefined) throw new UnexpectedResponseError(`CreateMultipartUpload s3://${this.#bucket}/${key}: no upload id`)
    return out.UploadId
  }

  async uploadPart(request: PartRequest): Promise<string> {
    const out = await this.#call('UploadPart', request.key, s => this.#s3.send(new UploadPartCommand({
      Bucket: this.#bucket, Key: request.key, UploadId: request.uploadId, PartNumber: request.partNumber,
      Body: request.body, ContentLength: request.body.length,
    }), s), uploadDeadlineMs(request.body.length))
    return stripEtag(out.ETag)
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    const out = await this.#call('CompleteMultipartUpload', key, s => this.#s3.send(new CompleteMultipartUploadCommand({
      Bucket: this.#bucket, Key: key, UploadId: uploadId,
      MultipartUpload: { Parts: parts.map(p => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
    }), s), WRITE_DEADLINE_MS)
    return stripEtag(out.ETag)
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.#call('AbortMultipartUpload', key, s => this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }), s))
  }

  async delete(key: string): Promise<void> {
    await this.#call('DeleteObject', key, s => this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), s))
  }

  async #multipartCopy(sourceKey: string, destKey: string, size: number, metadata: ObjectMetadata): Promise<string> {
    const created = await this.#call('CreateMultipartUpload', destKey,
      s => this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, Metadata: { ...metadata } }), s))
    const uploadId = created.UploadId
    if (uploadId === undefined) throw new UnexpectedResponseError(`CreateMultipartUpload s3://${this.#bucket}/${destKey}: no upload id`)
    try {
      const parts: Array<{ ETag: string; PartNumber: number }> = []
      for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
        const end = Math.min(size, start + COPY_PART_BYTES) - 1
        const out = await this.#call('UploadPartCopy', destKey, s => this.#s3.send(new UploadPartCopyCommand({
          Bucket: this.#bucket, Key: destKey, UploadId: uploadId, PartNumber: n,
          CopySource: copySource(this.#bucket, sourceKey), CopySourceRange: `bytes=${start}-${end}`,
        }), s), WRITE_DEADLINE_MS)
        parts.push({ ETag: out.CopyPartResult?.ETag ?? '', PartNumber: n })
      }
      const done = await this.#call('CompleteMultipartUpload', destKey, s => this.#s3.send(new CompleteMultipartUploadCommand({
        Bucket: this.#bucket, Key: destKey, UploadId: uploadId, MultipartUpload: { Parts: parts },
      }), s))
      return stripEtag(done.ETag)
    } catch (err) {
      await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId })).catch(() => {})
      throw err
    }
  }

  async #call<T>(operation: string, key: string | undefined, run: (opts: { abortSignal: AbortSignal }) => Promise<T>,
    deadlineMs = this.#deadlineMs, cancel?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(deadlineMs)
    try {
      return await run({ abortSignal: cancel === undefined ? deadline : AbortSignal.any([deadline, cancel]) })
    } catch (err) {
      if (cancel?.aborted === true) throw new UploadAbortedError(`${operation} s3://${this.#bucket}/${key ?? ''}: cancelled`, { cause: err })
      throw mapSdkError(err, { operation, bucket: this.#bucket, ...(key !== undefined ? { key } : {}) })
    }
  }
}
