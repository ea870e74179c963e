/**
 * An in-memory ObjectClient with S3's semantics (sorted keys, delimiter listing with
 * common prefixes, paging, ranged reads, If-Match). Used by core tests that need no
 * server; the real proof is always the mount tests against a real S3 HTTP server.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { InvalidRangeError, NotFoundError, PreconditionFailedError, UploadAbortedError } from '../errors.js'
import {
  type CompletedPart,
  type PartRequest,
  type ListPage,
  type ListPageRequest,
  type ObjectClient,
  type ObjectInfo,
  type ObjectMetadata,
  type RangeRequest,
  type UploadRequest,
  splitIntoPieces,
} from './object-client.js'
import { uploadBufferBytes } from './upload-limits.js'

interface StoredObject {
  readonly data: Buffer
  /** Without metadata: what a listing shows. */
  readonly info: ObjectInfo
  readonly metadata: ObjectMetadata
  /** What a HEAD shows; listings do not carry it. */
  readonly contentType: string | undefined
}

export class MemoryObjectClient implements ObjectClient {
  readonly #objects = new Map<string, StoredObject>()
  /** Set by tests: copies get an ETag of their own, as copies of multipart objects do on S3. */
  etagSuffixOnCopy = ''

  /** Stores `data` under `key`, as a PUT would; returns the new ETag. */
  put(key: string, data: Buffer | string, lastModified = new Date(), etagSuffix = '', metadata: ObjectMetadata = {}, contentType?: string): string {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    const etag = createHash('md5').update(bytes).digest('hex') + etagSuffix
    this.#objects.set(key, { data: bytes, info: { key, size: bytes.length, etag, lastModified }, metadata: { ...metadata }, contentType })
    return etag
  }

  async checkBucket(): Promise<void> {}

  async head(key: string): Promise<ObjectInfo> {
    const obj = this.#get(key)
    return { ...obj.info, metadata: obj.metadata, ...(obj.contentType !== undefined ? { contentType: obj.contentType } : {}) }
  }

  async listPage(request: ListPageRequest): Promise<ListPage> {
    const maxKeys = request.maxKeys ?? 1000
    const after = request.continuationToken ?? request.startAfter ?? ''
    const keys = [...this.#objects.keys()].filter(k => k.startsWith(request.prefix) && k > after).sort()
    const objects: ObjectInfo[] = []
    const commonPrefixes: string[] = []
    let last = ''
    for (const key of keys) {
      if (objects.length + commonPrefixes.length >= maxKeys) {
        return { objects, commonPrefixes, nextContinuationToken: last }
      }
      const rest = key.slice(request.prefix.length)
      const cut = request.delimiter ? rest.indexOf(request.delimiter) : -1
      if (cut >= 0) {
        const cp = request.prefix + rest.slice(0, cut + (request.delimiter?.length ?? 0))
        if (commonPrefixes[commonPrefixes.length - 1] !== cp) commonPrefixes.push(cp)
        // Skip every key under this common prefix, as S3 does.
        last = cp + '\uffff'
        if (key > last) last = key
        continue
      }
      objects.push(this.#get(key).info)
      last = key
    }
    return { objects, commonPrefixes }
  }

  async getRange(request: RangeRequest): Promise<Buffer> {
    const obj = this.#get(request.key)
    if (request.ifMatch !== undefined && request.ifMatch !== obj.info.etag) {
      throw new PreconditionFailedError(`${request.key} changed`)
    }
    if (request.start >= obj.data.length) throw new InvalidRangeError(`${request.key}: range not satisfiable`)
    return Buffer.from(obj.data.subarray(request.start, Math.min(request.endExclusive, obj.data.length)))
  }

  async getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    const pieces = splitIntoPieces(await this.getRange(request), pieceBytes, request.allocPiece)
    pieces.forEach((piece, n) => request.onPiece?.(n, piece))
    return pieces
  }

  /** Like the SDK client's, so core tests budget the upload lane as the daemon does. */
  uploadBufferBytes(size: number): number {
    return uploadBufferBytes(size)
  }

  async upload(request: UploadRequest): Promise<string> {
    const data = request.body ?? (request.filePath === undefined ? Buffer.alloc(0) : (await readFile(request.filePath)).subarray(0, request.size))
    if (request.signal?.aborted === true) throw new UploadAbortedError(`${request.key}: upload aborted`)
    request.onProgress?.(data.length)
    return this.put(request.key, Buffer.from(data), new Date(), '', request.metadata, request.contentType)
  }

  async copy(sourceKey: string, destKey: string, _size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    const source = this.#get(sourceKey)
    // S3's copy: the source's headers unless new ones replace them (with their Content-Type).
    const type = metadata !== undefined ? contentType : source.contentType
    return this.put(destKey, Buffer.from(source.data), new Date(), this.etagSuffixOnCopy, metadata ?? source.metadata, type)
  }

  readonly #multipart = new Map<string, { key: string; parts: Map<number, Buffer>; metadata: ObjectMetadata }>()
  #nextUploadId = 1
  /** Parts received by uploadPart, for tests (key, part number, bytes). */
  readonly partLog: Array<{ key: string; partNumber: number; bytes: number }> = []

  async createMultipart(key: string, metadata: ObjectMetadata = {}): Promise<string> {
    const id = `mpu-${this.#nextUploadId++}`
    this.#multipart.set(id, { key, parts: new Map(), metadata })
    return id
  }

  async uploadPart(request: PartRequest): Promise<string> {
    const mpu = this.#multipart.get(request.uploadId)
    if (mpu === undefined || mpu.key !== request.key) throw new NotFoundError(`NoSuchUpload ${request.uploadId}`)
    mpu.parts.set(request.partNumber, Buffer.from(request.body))
    this.partLog.push({ key: request.key, partNumber: request.partNumber, bytes: request.body.length })
    return createHash('md5').update(request.body).digest('hex')
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    const mpu = this.#multipart.get(uploadId)
    if (mpu === undefined || mpu.key !== key) throw new NotFoundError(`NoSuchUpload ${uploadId}`)
    const data = Buffer.concat(
      parts.map(p => {
        const b = mpu.parts.get(p.partNumber)
        if (b === undefined) throw new InvalidRangeError(`InvalidPart ${p.partNumber}`)
        return b
      }),
    )
    this.#multipart.delete(uploadId)
    return this.put(key, data, new Date(), `-${parts.length}`, mpu.metadata)
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    this.#multipart.delete(uploadId)
  }

  /** Multipart uploads started and neither completed nor aborted, for tests. */
  get openMultipartUploads(): number {
    return this.#multipart.size
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(key)
  }

  /** The stored bytes, for tests. */
  bytesOf(key: string): Buffer {
    return this.#get(key).data
  }

  keys(): string[] {
    return [...this.#objects.keys()].sort()
  }

  #get(key: string): StoredObject {
    const obj = this.#objects.get(key)
    if (obj === undefined) throw new NotFoundError(`${key} not found`)
    return obj
  }
}
