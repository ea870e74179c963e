/**
 * What a GET's body can be checked against, decided from the response headers before
 * its first byte is read, and the check itself as the bytes arrive (get-pieces.ts
 * feeds every chunk; nothing reaches a cache before `verdict` says the body is right).
 *
 * - **Additional checksums** (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`): the
 *   store returns them for a GET of a whole object with checksum mode on. Through the
 *   AWS SDK (`checker: 'sdk'`) the SDK verifies them itself, wrapping the body in a
 *   stream that fails after its last byte on a mismatch; that failure, after a complete
 *   body that carried such a checksum, is a corrupt transfer. Through the lean GET
 *   (`checker: 'self'`) we compute the same checksum here (the SDK's own CRC-32C and
 *   CRC-64/NVME implementations, zlib's CRC-32, node:crypto's SHA). A composite value
 *   (`…-N`, a multipart object's checksum of part checksums) cannot be checked against
 *   the bytes: the SDK skips it, and so do we.
 * - **MD5 ETags**: an ETag of 32 hex digits (no `-N`) is the content's MD5 for objects
 *   stored by a single PUT or copy without SSE-KMS or SSE-C encryption (with those, S3's
 *   ETag is not an MD5): checked when the whole object was fetched and no checksum came.
 * Ranged GETs of part of an object carry neither; they are checked only by length and
 * ETag (If-Match), and the block cache's own CRC-32 from then on.
 */
import { createHash, type Hash } from 'node:crypto'
import { crc32 } from '../util/crc32.js'
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc'

const MD5_ETAG = /^[0-9a-f]{32}$/i

export type IntegrityMethod = 'md5' | 'checksum'

/** The additional checksums S3 may return, cheapest to compute first. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256', 'crc64nvme'] as const
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number]

/** What the response headers say about the body. */
export interface ResponseFacts {
  /** Unquoted. */
  readonly etag: string
  /** `x-amz-checksum-<algorithm>` values (base64), as sent. */
  readonly checksums: Partial<Record<ChecksumAlgorithm, string>>
  readonly sse: string | undefined
  readonly sseCustomerAlgorithm: string | undefined
}

/** Who verifies the additional checksum: the SDK's response middleware, or this module. */
export type ChecksumChecker = 'sdk' | 'self'

interface Hasher {
  update(chunk: Uint8Array): void
  digest(): Promise<Uint8Array>
}

/** CRC-32 (zlib's, through src/util/crc32.ts), in the shape of the SDK's checksum classes. */
class Crc32Hasher implements Hasher {
  #value = 0
  update(chunk: Uint8Array): void {
    this.#value = crc32(chunk, this.#value)
  }

  async digest(): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(4)
    out.writeUInt32BE(this.#value >>> 0)
    return out
  }
}

class NodeHash implements Hasher {
  readonly #h: Hash
  constructor(algorithm: string) {
    this.#h = createHash(algorithm)
  }

  update(chunk: Uint8Array): void {
    this.#h.update(chunk)
  }

  async digest(): Promise<Uint8Array> {
    return this.#h.digest()
  }
}

function hasherFor(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'crc32':
      return new Crc32Hasher()
    case 'crc32c':
      return new Crc32c()
    case 'crc64nvme':
      return new Crc64Nvme()
    case 'sha1':
    case 'sha256':
      return new NodeHash(algorithm)
  }
}

/** The first full-object (not composite) checksum the headers carry. */
function fullObjectChecksum(facts: ResponseFacts): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = facts.checksums[algorithm]
    if (value !== undefined && !/-\d+$/.test(value)) return { algorithm, value }
  }
  return undefined
}

/** Whether the ETag is the MD5 of the bytes, as far as the headers tell. */
function etagIsMd5(facts: ResponseFacts): boolean {
  if (!MD5_ETAG.test(facts.etag)) return false
  return !(facts.sse === 'aws:kms' || facts.sse === 'aws:kms:dsse' || facts.sseCustomerAlgorithm !== undefined)
}

/** A checksum this module computes: its hasher and the value the store sent. */
interface OwnCheck {
  readonly hasher: Hasher
  readonly value: string
}

export class BodyIntegrity {
  readonly #md5: Hash | undefined
  readonly #etag: string
  /** The SDK checks a checksum itself. */
  readonly #sdkChecksum: boolean
  /** A checksum this module checks: its hasher and the value expected. */
  readonly #own: OwnCheck | undefined

  private constructor(md5: Hash | undefined, etag: string, sdkChecksum: boolean, own: OwnCheck | undefined) {
    this.#md5 = md5
    this.#etag = etag
    this.#sdkChecksum = sdkChecksum
    this.#own = own
  }

  /** For a response with these headers; `whole`: the body is the whole object. */
  static of(facts: ResponseFacts, whole: boolean, checker: ChecksumChecker): BodyIntegrity {
    const checksum = whole ? fullObjectChecksum(facts) : undefined
    const own = checksum !== undefined && checker === 'self' ? { hasher: hasherFor(checksum.algorithm), value: checksum.value } : undefined
    // One check per body: the store's checksum when it sent one, else the MD5 (~1.5 CPU-s per GiB here).
    const md5 = whole && checksum === undefined && etagIsMd5(facts) ? createHash('md5') : undefined
    return new BodyIntegrity(md5, facts.etag.toLowerCase(), checksum !== undefined && checker === 'sdk', own)
  }

  /** The checks this body gets (empty: none is possible). */
  get methods(): IntegrityMethod[] {
    return [...(this.#md5 !== undefined ? ['md5' as const] : []), ...(this.#sdkChecksum || this.#own !== undefined ? ['checksum' as const] : [])]
  }

  update(chunk: Uint8Array): void {
    this.#md5?.update(chunk)
    this.#own?.hasher.update(chunk)
  }

  /** A body stream that failed after all its bytes arrived failed the SDK's checksum check. */
  failedAfterComplete(): IntegrityMethod | undefined {
    return this.#sdkChecksum ? 'checksum' : undefined
  }

  /** After the last byte: the method that found the body wrong, or undefined if it is right. */
  async verdict(): Promise<IntegrityMethod | undefined> {
    if (this.#md5 !== undefined && this.#md5.digest('hex') !== this.#etag) return 'md5'
    if (this.#own !== undefined && Buffer.from(await this.#own.hasher.digest()).toString('base64') !== this.#own.value) return 'checksum'
    return undefined
  }
}
