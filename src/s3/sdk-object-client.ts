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
import {
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client,
} from '@aws-sdk/client-s3'
import { UnexpectedResponseError } from '../errors.js'
import type { ListPage, ListPageRequest, ObjectClient, ObjectInfo, RangeRequest } from './object-client.js'
import { mapSdkError } from './sdk-error-mapper.js'

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

  async getRange(request: RangeRequest): Promise<Buffer> {
    const wanted = request.endExclusive - request.start
    if (wanted <= 0) return Buffer.alloc(0)
    return this.#call('GetObject', request.key, async s => {
      const out = await this.#s3.send(new GetObjectCommand({
        Bucket: this.#bucket,
        Key: request.key,
        Range: `bytes=${request.start}-${request.endExclusive - 1}`,
        ...(request.ifMatch !== undefined ? { IfMatch: `"${request.ifMatch}"` } : {}),
      }), s)
      if (out.Body === undefined) throw new UnexpectedResponseError(`GetObject s3://${this.#bucket}/${request.key}: no body`)
      const bytes = await out.Body.transformToByteArray()
      if (bytes.length > wanted) {
        throw new UnexpectedResponseError(`GetObject s3://${this.#bucket}/${request.key}: asked for ${wanted} bytes, got ${bytes.length}`)
      }
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
    })
  }

  async #call<T>(operation: string, key: string | undefined, run: (opts: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    try {
      return await run({ abortSignal: AbortSignal.timeout(this.#deadlineMs) })
    } catch (err) {
      throw mapSdkError(err, { operation, bucket: this.#bucket, ...(key !== undefined ? { key } : {}) })
    }
  }
}
