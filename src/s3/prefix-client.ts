/**
 * Scopes an ObjectClient to a key prefix: the mount of `s3://bucket/some/prefix/`
 * sees keys relative to `some/prefix/`, and never anything outside it.
 */
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

export class PrefixClient implements ObjectClient {
  readonly #inner: ObjectClient
  readonly #prefix: string

  constructor(inner: ObjectClient, prefix: string) {
    this.#inner = inner
    this.#prefix = prefix
  }

  checkBucket(): Promise<void> {
    return this.#inner.checkBucket()
  }

  async head(key: string): Promise<ObjectInfo> {
    return this.#strip(await this.#inner.head(this.#prefix + key))
  }

  async listPage(request: ListPageRequest): Promise<ListPage> {
    const page = await this.#inner.listPage({
      ...request,
      prefix: this.#prefix + request.prefix,
      ...(request.startAfter !== undefined ? { startAfter: this.#prefix + request.startAfter } : {}),
    })
    const n = this.#prefix.length
    return {
      objects: page.objects.map(o => this.#strip(o)),
      commonPrefixes: page.commonPrefixes.map(p => p.slice(n)),
      ...(page.nextContinuationToken !== undefined ? { nextContinuationToken: page.nextContinuationToken } : {}),
    }
  }

  getRange(request: RangeRequest): Promise<Buffer> {
    return this.#inner.getRange({ ...request, key: this.#prefix + request.key })
  }

  getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    return this.#inner.getPieces({ ...request, key: this.#prefix + request.key }, pieceBytes)
  }

  upload(request: UploadRequest): Promise<string> {
    return this.#inner.upload({ ...request, key: this.#prefix + request.key })
  }

  uploadBufferBytes(size: number): number {
    return this.#inner.uploadBufferBytes(size)
  }

  copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#inner.copy(this.#prefix + sourceKey, this.#prefix + destKey, size, metadata, contentType)
  }

  createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#inner.createMultipart(this.#prefix + key, metadata, contentType)
  }

  uploadPart(request: PartRequest): Promise<string> {
    return this.#inner.uploadPart({ ...request, key: this.#prefix + request.key })
  }

  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    return this.#inner.completeMultipart(this.#prefix + key, uploadId, parts)
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.#inner.abortMultipart(this.#prefix + key, uploadId)
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(this.#prefix + key)
  }

  #strip(info: ObjectInfo): ObjectInfo {
    return { ...info, key: info.key.slice(this.#prefix.length) }
  }
}
