/**
 * What a GET's body can be checked against, decided from the response headers before
 * its first byte is read, and the check itself as the bytes arrive (sdk-get-pieces.ts
 * feeds every chunk; nothing reaches a cache before `verdict` says the body is right).
 *
 * - **Additional checksums** (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`): the
 *   store returns them for a GET of a whole object with checksum mode on. The AWS SDK
 *   verifies them itself when the request asked for them (`ChecksumMode: ENABLED`),
 *   wrapping the body in a stream that fails after its last byte on a mismatch; that
 *   failure, after a complete body that carried such a checksum, is a corrupt transfer.
 *   A composite value (`…-N`, a multipart object's checksum of part checksums) cannot be
 *   checked against the bytes: the SDK skips it, and so do we.
 * - **MD5 ETags**: an ETag of 32 hex digits (no `-N`) is the content's MD5 for objects
 *   stored by a single PUT or copy without SSE-KMS or SSE-C encryption (with those, S3's
 *   ETag is not an MD5): checked when the whole object was fetched and no checksum came.
 * Ranged GETs of part of an object carry neither; they are checked only by length and
 * ETag (If-Match), and the block cache's own CRC-32 from then on.
 */
import { createHash, type Hash } from 'node:crypto'
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3'

const MD5_ETAG = /^[0-9a-f]{32}$/i

export type IntegrityMethod = 'md5' | 'checksum'

/** The store's checksum headers the SDK verified, if any full-object one came. */
function fullObjectChecksum(out: GetObjectCommandOutput): string | undefined {
  const value = out.ChecksumSHA256 ?? out.ChecksumSHA1 ?? out.ChecksumCRC32 ?? out.ChecksumCRC32C ?? out.ChecksumCRC64NVME
  return value === undefined || /-\d+$/.test(value) ? undefined : value
}

/** Whether the ETag is the MD5 of the bytes, as far as the headers tell. */
function etagIsMd5(etag: string, out: GetObjectCommandOutput): boolean {
  if (!MD5_ETAG.test(etag)) return false
  const sse = out.ServerSideEncryption
  return !(sse === 'aws:kms' || sse === 'aws:kms:dsse' || out.SSECustomerAlgorithm !== undefined)
}

export class BodyIntegrity {
  readonly #md5: Hash | undefined
  readonly #etag: string
  readonly #checksum: boolean

  private constructor(md5: Hash | undefined, etag: string, checksum: boolean) {
    this.#md5 = md5
    this.#etag = etag
    this.#checksum = checksum
  }

  /** For a response of `etag`; `whole`: the body is the whole object. */
  static of(out: GetObjectCommandOutput, etag: string, whole: boolean): BodyIntegrity {
    const checksum = whole && fullObjectChecksum(out) !== undefined
    // One check per body: the SDK's checksum when the store sent one, else the MD5 (~1.5 CPU-s per GiB here).
    const md5 = whole && !checksum && etagIsMd5(etag, out) ? createHash('md5') : undefined
    return new BodyIntegrity(md5, etag.toLowerCase(), checksum)
  }

  /** The checks this body gets (empty: none is possible). */
  get methods(): IntegrityMethod[] {
    return [...(this.#md5 !== undefined ? ['md5' as const] : []), ...(this.#checksum ? ['checksum' as const] : [])]
  }

  update(chunk: Uint8Array): void {
    this.#md5?.update(chunk)
  }

  /** A body stream that failed after all its bytes arrived failed the SDK's checksum check. */
  failedAfterComplete(): IntegrityMethod | undefined {
    return this.#checksum ? 'checksum' : undefined
  }

  /** After the last byte: the method that found the body wrong, or undefined if it is right. */
  verdict(): IntegrityMethod | undefined {
    if (this.#md5 !== undefined && this.#md5.digest('hex') !== this.#etag) return 'md5'
    return undefined
  }
}
