/**
 * An ObjectClient whose every request waits its turn in a bounded lane (the read
 * path's FetchQueue: its concurrency, its byte budget) at one priority. The layers
 * that do not run their own lane get their client through this wrapper in the
 * composition root (namespace changes, at foreground priority), so their requests
 * share the bound that reads already obey instead of adding to it unseen.
 *
 * The client given to the code that runs tasks *in* the lane (the block fetcher)
 * must stay unwrapped: a task that waited for the lane again could wait forever.
 */
import type {
  CompletedPart,
  ListPage,
  ListPageRequest,
  ObjectClient,
  ObjectInfo,
  ObjectMetadata,
  PartRequest,
  RangeRequest,
  UploadRequest,
} from './object-client.js'

/** What the lane is asked: run `task` once a slot and `bytes` of budget are free, before lower priorities. */
export interface RequestLane {
  run<T>(bytes: number, priority: number, task: () => Promise<T>): Promise<T>
}

export class QueuedClient implements ObjectClient {
  readonly #inner: ObjectClient
  readonly #lane: RequestLane
  readonly #priority: number

  constructor(inner: ObjectClient, lane: RequestLane, priority: number) {
    this.#inner = inner
    this.#lane = lane
    this.#priority = priority
  }

  /** Requests whose bodies are not held in memory (heads, lists, copies, deletes) take a slot but no budget. */
  #run<T>(task: () => Promise<T>, bytes = 0): Promise<T> {
    return this.#lane.run(bytes, this.#priority, task)
  }

  checkBucket(): Promise<void> {
    return this.#run(() => this.#inner.checkBucket())
  }

  head(key: string): Promise<ObjectInfo> {
    return this.#run(() => this.#inner.head(key))
  }

  listPage(request: ListPageRequest): Promise<ListPage> {
    return this.#run(() => this.#inner.listPage(request))
  }

  getRange(request: RangeRequest): Promise<Buffer> {
    return this.#run(() => this.#inner.getRange(request), request.endExclusive - request.start)
  }

  getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]> {
    return this.#run(() => this.#inner.getPieces(request, pieceBytes), request.endExclusive - request.start)
  }

  upload(request: UploadRequest): Promise<string> {
    return this.#run(() => this.#inner.upload(request), this.#inner.uploadBufferBytes(request.size))
  }

  uploadBufferBytes(size: number): number {
    return this.#inner.uploadBufferBytes(size)
  }

  copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#run(() => this.#inner.copy(sourceKey, destKey, size, metadata, contentType))
  }

  delete(key: string): Promise<void> {
    return this.#run(() => this.#inner.delete(key))
  }

  createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string> {
    return this.#run(() => this.#inner.createMultipart(key, metadata, contentType))
  }

  uploadPart(request: PartRequest): Promise<string> {
    return this.#run(() => this.#inner.uploadPart(request), request.body.length)
  }

  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string> {
    return this.#run(() => this.#inner.completeMultipart(key, uploadId, parts))
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.#run(() => this.#inner.abortMultipart(key, uploadId))
  }
}
