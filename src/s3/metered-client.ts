/** An ObjectClient wrapper that records every request in a RequestMetrics. */
import { S3CacheFsError } from '../errors.js'
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
import type { RequestKind, RequestMetrics } from './request-metrics.js'

export class MeteredClient implements ObjectClient {
  readonly #inner: ObjectClient
  readonly #metrics: RequestMetrics

  constructor(inner: ObjectClient, metrics: RequestMetrics) {
    this.#inner = inner
    this.#metrics = metrics
  }

  checkBucket(): Promise<void> {
    return this.#measure(
      'checkBucket',
      () => this.#inner.checkBucket(),
      () => 0,
    )
  }

  head(key: string): Promise<ObjectInfo> {
    return this.#measure(
      'head',
      () => this.#inner.head(key),
      () => 0,
    )
  }

  listPage(request: ListPageRequest): Promise<ListPage> {
    return this.#measure(
      'list',
      () => this.#inner.listPage(request),
      () => 0,
    )
  }

  getRange(request: RangeRequest): Promise<Buffer> {
    return this.#measure(
      'get',
      () => this.#inner.getRange(request),
      b => b.length,
    )
  }

  getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    return this.#measure(
      'get',
      () => this.#inner.getPieces(request, pieceBytes),
      pieces => pieces.reduce((n, b) => n + b.length, 0),
    )
  }

  upload(request: UploadRequest): Promise<string> {
    return this.#measure(
      'upload',
      () => this.#inner.upload(request),
      () => request.size,
    )
  }

  uploadBufferBytes(size: number): number {
    return this.#inner.uploadBufferBytes(size)
  }

  copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#measure(
      'copy',
      () => this.#inner.copy(sourceKey, destKey, size, metadata, contentType),
      () => 0,
    )
  }

  createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#measure(
      'upload',
      () => this.#inner.createMultipart(key, metadata, contentType),
      () => 0,
    )
  }

  uploadPart(request: PartRequest): Promise<string> {
    return this.#measure(
      'upload',
      () => this.#inner.uploadPart(request),
      () => request.body.length,
    )
  }

  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    return this.#measure(
      'upload',
      () => this.#inner.completeMultipart(key, uploadId, parts),
      () => 0,
    )
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.#measure(
      'upload',
      () => this.#inner.abortMultipart(key, uploadId),
      () => 0,
    )
  }

  delete(key: string): Promise<void> {
    return this.#measure(
      'delete',
      () => this.#inner.delete(key),
      () => 0,
    )
  }

  async #measure<T>(kind: RequestKind, run: () => Promise<T>, bytesOf: (v: T) => number): Promise<T> {
    const t0 = performance.now()
    this.#metrics.started()
    try {
      const v = await run()
      this.#metrics.finished(kind, performance.now() - t0, bytesOf(v))
      return v
    } catch (err) {
      const code = err instanceof S3CacheFsError ? err.code : 'UNKNOWN'
      this.#metrics.finished(kind, performance.now() - t0, 0, code)
      throw err
    }
  }
}
