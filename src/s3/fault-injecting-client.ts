/**
 * An ObjectClient wrapper that fails or delays chosen requests, for core tests of
 * the error paths (throttling, 5xx, timeouts, changed objects) without a server.
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
import type { RequestKind } from './request-metrics.js'

export interface Fault {
  readonly op: RequestKind
  /** How many matching requests fail; Infinity for all. */
  remaining: number
  readonly error?: () => Error
  readonly delayMs?: number
}

export class FaultInjectingClient implements ObjectClient {
  readonly #inner: ObjectClient
  readonly #faults: Fault[] = []

  constructor(inner: ObjectClient) {
    this.#inner = inner
  }

  inject(fault: Fault): void {
    this.#faults.push(fault)
  }

  clear(): void {
    this.#faults.length = 0
  }

  async checkBucket(): Promise<void> {
    await this.#apply('checkBucket')
    return this.#inner.checkBucket()
  }

  async head(key: string): Promise<ObjectInfo> {
    await this.#apply('head')
    return this.#inner.head(key)
  }

  async listPage(request: ListPageRequest): Promise<ListPage> {
    await this.#apply('list')
    return this.#inner.listPage(request)
  }

  async getRange(request: RangeRequest): Promise<Buffer> {
    await this.#apply('get')
    return this.#inner.getRange(request)
  }

  async getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    await this.#apply('get')
    return this.#inner.getPieces(request, pieceBytes)
  }

  async upload(request: UploadRequest): Promise<string> {
    await this.#apply('upload')
    return this.#inner.upload(request)
  }

  uploadBufferBytes(size: number): number {
    return this.#inner.uploadBufferBytes(size)
  }

  async copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    await this.#apply('copy')
    return this.#inner.copy(sourceKey, destKey, size, metadata, contentType)
  }

  async createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    await this.#apply('upload')
    return this.#inner.createMultipart(key, metadata, contentType)
  }

  async uploadPart(request: PartRequest): Promise<string> {
    await this.#apply('upload')
    return this.#inner.uploadPart(request)
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    await this.#apply('upload')
    return this.#inner.completeMultipart(key, uploadId, parts)
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.#inner.abortMultipart(key, uploadId)
  }

  async delete(key: string): Promise<void> {
    await this.#apply('delete')
    return this.#inner.delete(key)
  }

  async #apply(op: RequestKind): Promise<void> {
    const fault = this.#faults.find(f => f.op === op && f.remaining > 0)
    if (fault === undefined) return
    fault.remaining--
    if (fault.delayMs !== undefined) await new Promise(r => setTimeout(r, fault.delayMs))
    if (fault.error !== undefined) throw fault.error()
  }
}
