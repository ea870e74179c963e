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
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { UnexpectedResponseError } from '../errors.js'
import type {
  CompletedPart,
  PartRequest,
  ListPage,
  ListPageRequest,
  ObjectClient,
  ObjectInfo,
  ObjectMetadata,
  RangeRequest,
  UploadRequest,
} from './object-client.js'
import { trackCommittingRequests } from './committing-requests.js'
import { type SdkCall, sdkCall } from './sdk-call.js'
import { copySource, multipartCopy } from './sdk-multipart-copy.js'
import { type GetSender, getPiecesRetrying, senderFor, stripEtag, type IntegrityListener } from './get-pieces.js'
import { MAX_SINGLE_COPY_BYTES, UPLOAD_PART_CONCURRENCY, WRITE_DEADLINE_MS, uploadBufferBytes, uploadDeadlineMs, uploadPartSize } from './upload-limits.js'

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
  /** Send every GET through the SDK's whole middleware stack, never the lean GET (lean-get.ts). */
  readonly sdkGets?: boolean
}

export class SdkObjectClient implements ObjectClient {
  readonly #s3: S3Client
  readonly #bucket: string
  readonly #onChecked: IntegrityListener
  readonly #call: SdkCall
  readonly #get: GetSender

  /** `onChecked` hears of every response body checked against the store's checksum or MD5 ETag. */
  constructor(config: SdkClientConfig, onChecked: IntegrityListener = () => {}) {
    this.#onChecked = onChecked
    this.#bucket = config.bucket
    this.#call = sdkCall(config.bucket, config.requestDeadlineMs)
    const agentOptions = { keepAlive: true, maxSockets: config.maxSockets }
    const httpAgent = new HttpAgent(agentOptions)
    const httpsAgent = new HttpsAgent(agentOptions)
    this.#s3 = new S3Client({
      ...(config.region !== undefined ? { region: config.region } : {}),
      ...(config.endpointUrl !== undefined ? { endpoint: config.endpointUrl } : {}),
      ...(config.profile !== undefined ? { profile: config.profile } : {}),
      forcePathStyle: config.forcePathStyle,
      maxAttempts: config.maxAttempts,
      // S3-compatible stores often reject the SDK's default trailing checksums on uploads.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // Checksum mode is asked for on whole-object GETs only (get-pieces.ts): S3 returns no checksum for a range.
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: config.connectTimeoutMs,
        requestTimeout: config.requestDeadlineMs,
        httpAgent,
        httpsAgent,
      },
    })
    this.#get = senderFor(this.#s3, config)
  }

  async checkBucket(): Promise<void> {
    await this.#call('HeadBucket', undefined, s => this.#s3.send(new HeadBucketCommand({ Bucket: this.#bucket }), s))
  }

  async head(key: string): Promise<ObjectInfo> {
    const out = await this.#call('HeadObject', key, s => this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), s))
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
    const out = await this.#call('ListObjectsV2', request.prefix, s =>
      this.#s3.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: request.prefix,
          ...(request.delimiter !== undefined ? { Delimiter: request.delimiter } : {}),
          ...(request.continuationToken !== undefined ? { ContinuationToken: request.continuationToken } : {}),
          ...(request.startAfter !== undefined ? { StartAfter: request.startAfter } : {}),
          MaxKeys: request.maxKeys ?? 1000,
        }),
        s,
      ),
    )
    const objects: ObjectInfo[] = (out.Contents ?? []).flatMap(o =>
      o.Key === undefined
        ? []
        : [
            {
              key: o.Key,
              size: o.Size ?? 0,
              etag: stripEtag(o.ETag),
              lastModified: o.LastModified ?? new Date(0),
            },
          ],
    )
    const commonPrefixes = (out.CommonPrefixes ?? []).flatMap(p => (p.Prefix === undefined ? [] : [p.Prefix]))
    const next = out.IsTruncated === true ? out.NextContinuationToken : undefined
    if (out.IsTruncated === true && next === undefined) {
      throw new UnexpectedResponseError(`ListObjectsV2 s3://${this.#bucket}/${request.prefix}: truncated page without a continuation token`)
    }
    return { objects, commonPrefixes, ...(next !== undefined ? { nextContinuationToken: next } : {}) }
  }

  /** See get-pieces.ts: broken or short bodies retried with If-Match, another version's answer refused. */
  async getRange(request: RangeRequest): Promise<Buffer> {
    const wanted = request.endExclusive - request.start
    return (await this.#getPieces(request, Math.max(1, wanted), false))[0] ?? Buffer.alloc(0)
  }

  async getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    return this.#getPieces(request, pieceBytes, true)
  }

  /** `sumChunks`: the pieces become block files, so their chunks' CRC-32s are taken as they fill (util/chunk-checksums.ts). */
  async #getPieces(request: RangeRequest, pieceBytes: number, sumChunks: boolean): Promise<Buffer[]> {
    if (request.endExclusive - request.start <= 0) return []
    return this.#call('GetObject', request.key, s => getPiecesRetrying(this.#get, this.#bucket, request, pieceBytes, s, this.#onChecked, sumChunks))
  }

  uploadBufferBytes(size: number): number {
    return uploadBufferBytes(size)
  }

  async upload(request: UploadRequest): Promise<string> {
    return this.#call(
      'PutObject',
      request.key,
      async s => {
        s.abortSignal.throwIfAborted() // cancelled while it waited in the upload lane: send nothing
        const body =
          request.body ??
          (request.filePath === undefined || request.size === 0 ? Buffer.alloc(0) : createReadStream(request.filePath, { start: 0, end: request.size - 1 }))
        const committing = trackCommittingRequests(this.#s3)
        const upload = new Upload({
          client: committing.client,
          params: {
            Bucket: this.#bucket,
            Key: request.key,
            Body: body,
            ContentLength: request.size,
            ...(request.metadata !== undefined ? { Metadata: { ...request.metadata } } : {}),
            ...(request.contentType !== undefined ? { ContentType: request.contentType } : {}),
          },
          partSize: uploadPartSize(request.size),
          queueSize: UPLOAD_PART_CONCURRENCY,
          leavePartsOnError: false,
        })
        s.abortSignal.addEventListener(
          'abort',
          () => {
            upload.abort().catch(() => {})
          },
          { once: true },
        )
        const onProgress = request.onProgress
        if (onProgress !== undefined)
          upload.on('httpUploadProgress', p => {
            if (p.loaded !== undefined) onProgress(p.loaded)
          })
        try {
          return stripEtag((await upload.done()).ETag)
        } catch (err) {
          // Cancelled or timed out: answer only once nothing sent can still create the object.
          await committing.settled()
          throw err
        }
      },
      uploadDeadlineMs(request.size),
      request.signal,
    )
  }

  async copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    if (size <= MAX_SINGLE_COPY_BYTES) {
      const out = await this.#call(
        'CopyObject',
        sourceKey,
        s =>
          this.#s3.send(
            new CopyObjectCommand({
              Bucket: this.#bucket,
              Key: destKey,
              CopySource: copySource(this.#bucket, sourceKey),
              ...(metadata !== undefined ? { Metadata: { ...metadata }, MetadataDirective: 'REPLACE' as const } : {}),
              ...(metadata !== undefined && contentType !== undefined ? { ContentType: contentType } : {}),
            }),
            s,
          ),
        WRITE_DEADLINE_MS,
      )
      return stripEtag(out.CopyObjectResult?.ETag)
    }
    // A multipart copy starts a new object: carry the source's metadata and Content-Type over explicitly.
    const source = metadata === undefined ? await this.head(sourceKey) : undefined
    return multipartCopy(this.#s3, this.#bucket, this.#call, sourceKey, destKey, size, metadata ?? source?.metadata ?? {}, source?.contentType ?? contentType)
  }

  async createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    const out = await this.#call('CreateMultipartUpload', key, s =>
      this.#s3.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: key,
          ...(metadata !== undefined ? { Metadata: { ...metadata } } : {}),
          ...(contentType !== undefined ? { ContentType: contentType } : {}),
        }),
        s,
      ),
    )
    if (out.UploadId === undefined) throw new UnexpectedResponseError(`CreateMultipartUpload s3://${this.#bucket}/${key}: no upload id`)
    return out.UploadId
  }

  async uploadPart(request: PartRequest): Promise<string> {
    const out = await this.#call(
      'UploadPart',
      request.key,
      s =>
        this.#s3.send(
          new UploadPartCommand({
            Bucket: this.#bucket,
            Key: request.key,
            UploadId: request.uploadId,
            PartNumber: request.partNumber,
            Body: request.body,
            ContentLength: request.body.length,
          }),
          s,
        ),
      uploadDeadlineMs(request.body.length),
    )
    return stripEtag(out.ETag)
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    const out = await this.#call(
      'CompleteMultipartUpload',
      key,
      s =>
        this.#s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map(p => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
          }),
          s,
        ),
      WRITE_DEADLINE_MS,
    )
    return stripEtag(out.ETag)
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.#call('AbortMultipartUpload', key, s =>
      this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }), s),
    )
  }

  async delete(key: string): Promise<void> {
    await this.#call('DeleteObject', key, s => this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), s))
  }
}
