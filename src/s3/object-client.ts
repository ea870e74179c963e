/**
 * The narrow storage interface the rest of s3cachefs depends on.
 *
 * Only `src/s3/` knows the AWS SDK. Everything above talks to an `ObjectClient`;
 * cross-cutting concerns (prefix scoping, request counting, fault injection) are
 * `ObjectClient → ObjectClient` wrappers composed in `src/s3/client-stack.ts`.
 * Implementations throw the typed errors of `src/errors.ts`, never SDK errors.
 */

/**
 * User metadata: the object's `x-amz-meta-*` headers, names lowercase and without that
 * prefix (`mode`, `uid`, `mtime` as s3fs-fuse writes them; see src/metadata/s3fs-attributes.ts).
 */
export type ObjectMetadata = Readonly<Record<string, string>>

export interface ObjectInfo {
  readonly key: string
  readonly size: number
  /** Entity tag without quotes. Identifies the object version for caching. */
  readonly etag: string
  readonly lastModified: Date
  /** Present only where the store sent it: a HEAD (listings carry no user metadata). */
  readonly metadata?: ObjectMetadata
  /** The object's Content-Type, from a HEAD. */
  readonly contentType?: string
}

export interface ListPageRequest {
  readonly prefix: string
  readonly delimiter?: string
  readonly continuationToken?: string
  readonly startAfter?: string
  /** At most 1000 (the S3 maximum per page). */
  readonly maxKeys?: number
}

export interface ListPage {
  readonly objects: readonly ObjectInfo[]
  /** Full common prefixes, each ending with the delimiter. */
  readonly commonPrefixes: readonly string[]
  /** Present when another page follows. */
  readonly nextContinuationToken?: string
}

export interface RangeRequest {
  readonly key: string
  /** First byte, inclusive. */
  readonly start: number
  /** One past the last byte; clamped by the store to the object's size. */
  readonly endExclusive: number
  /** When set, the store must answer PreconditionFailedError if the object's ETag differs. */
  readonly ifMatch?: string
  /**
   * The object's size, when the caller knows it: a request of all of it is then a GET of
   * the whole object, which the store's checksums and an MD5 ETag can verify (s3/body-integrity.ts).
   */
  readonly objectSize?: number
  /**
   * `getPieces` only: hears of each piece (its index from `start`) as soon as it is complete
   * and can no longer be refused — a ranged GET, whose version was checked at its headers
   * and which carries no whole-body checksum — before the GET ends, so a reader of the
   * first block of a part need not wait for the rest. A whole-object GET's pieces are
   * checked first and not heard of early. May be told of some pieces only, or none: the
   * resolved array (or the error) is the truth for the others.
   */
  readonly onPiece?: (index: number, piece: Buffer) => void
  /** `getPieces` only: where each piece's memory comes from (cache/block-pool.ts); a new buffer of its own otherwise. */
  readonly allocPiece?: (bytes: number) => Buffer
}

export interface UploadRequest {
  readonly key: string
  /** A local file whose first `size` bytes become the object; omitted for an empty object. */
  readonly filePath?: string
  /** The object's bytes, for small objects made in memory (a symlink's target, a shared-cache block); instead of `filePath`. */
  readonly body?: Buffer
  /** Stored as the object's user metadata. */
  readonly metadata?: ObjectMetadata
  /** Stored as its Content-Type; the store's default when omitted. */
  readonly contentType?: string
  readonly size: number
  /** Aborts the upload (a rename or unlink superseding it); the call then rejects. */
  readonly signal?: AbortSignal
  /** Told the bytes sent so far, as parts complete (for flush progress). */
  readonly onProgress?: (bytesSent: number) => void
}

/** One part of a multipart upload the caller drives itself (streamed while a file is written). */
export interface PartRequest {
  readonly key: string
  readonly uploadId: string
  /** 1 to 10,000. */
  readonly partNumber: number
  readonly body: Buffer
}

export interface CompletedPart {
  readonly partNumber: number
  readonly etag: string
}

/** `data` as consecutive pieces of `pieceBytes` (the last may be shorter), each a copy owning its memory. */
export function splitIntoPieces(data: Buffer, pieceBytes: number, alloc: (bytes: number) => Buffer = Buffer.allocUnsafeSlow): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0; at < data.length; at += pieceBytes) {
    const piece = alloc(Math.min(pieceBytes, data.length - at))
    data.copy(piece, 0, at, at + piece.length)
    pieces.push(piece)
  }
  return pieces
}

export interface ObjectClient {
  /** Fails with NoSuchBucketError, AccessDeniedError or a network error when the bucket is unusable. */
  checkBucket(): Promise<void>
  head(key: string): Promise<ObjectInfo>
  listPage(request: ListPageRequest): Promise<ListPage>
  /** The bytes of [start, endExclusive) (fewer at the end of the object). */
  getRange(request: RangeRequest): Promise<Buffer>
  /**
   * The same bytes as consecutive pieces of `pieceBytes` (the last may be shorter), each
   * owning exactly its memory: a response is read straight into cache blocks, with no
   * buffer of the whole range and no copy out of it.
   */
  getPieces(request: RangeRequest, pieceBytes: number): Promise<Buffer[]>
  /**
   * Stores a local file as the object (multipart when large); resolves once durable. Returns the new ETag.
   * Cancelled (`signal`) or failed, it rejects only once no request that could still create the
   * object is running: a delete of the key after the rejection is never overtaken by it.
   */
  upload(request: UploadRequest): Promise<string>
  /** Memory `upload` holds at most in part buffers for an object of `size` bytes (the write path's lane budgets it). */
  uploadBufferBytes(size: number): number
  /**
   * Server-side copy (multipart copy when over 5 GiB). Returns the new object's ETag (a copy gets its own).
   * The copy keeps the source's user metadata, or replaces it with `metadata` when given
   * (a copy onto itself with new metadata is how S3 changes an object's metadata). A replacing
   * copy resets Content-Type unless given: pass the source's `contentType` to keep it.
   */
  copy(sourceKey: string, destKey: string, size: number, metadata?: ObjectMetadata, contentType?: string): Promise<string>
  /** Deletes the object; deleting an absent key succeeds, as in S3. */
  delete(key: string): Promise<void>
  /** Starts a multipart upload the caller drives part by part; returns its upload id. */
  createMultipart(key: string, metadata?: ObjectMetadata, contentType?: string): Promise<string>
  /** Uploads one part (at least 5 MiB but the last); returns the part's ETag. */
  uploadPart(request: PartRequest): Promise<string>
  /** Completes a multipart upload from its parts, in order; returns the object's ETag. */
  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<string>
  /** Abandons a multipart upload and its parts. */
  abortMultipart(key: string, uploadId: string): Promise<void>
}
