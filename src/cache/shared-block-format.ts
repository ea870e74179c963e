/**
 * Names and contents of the block objects of the shared cache tier (`--shared-cache`).
 *
 * Key: `<h(source bucket, block size, format)>/<h(key, ETag)>/<block index>` under the
 * tier's prefix, each h a SHA-256 prefix. A new version of an object is a new key, so
 * no tier object is ever overwritten with other data, and the daemon never needs to
 * list or delete the tier (its lifecycle rule expires what nobody reads).
 *
 * Object: a header naming what the block is, then the data.
 *
 *   0   8  magic 'S3CFSTB1' (the last byte is the format version)
 *   8   4  header length H, uint32 LE
 *   12  H  header: JSON {bucket, key, etag, index, offset, length, crc32}
 *   12+H   the data (`length` bytes, CRC-32 `crc32`)
 *
 * Anything that does not match what the reader asked for (another bucket, key, ETag,
 * block or offset, a wrong length or checksum, a torn or foreign object) is
 * SharedBlockMismatch: the reader treats it as a miss, never as data.
 */
import { createHash } from 'node:crypto'
import { crc32 } from '../util/crc32.js'

const MAGIC = Buffer.from('S3CFSTB1', 'latin1')
/** Bumped when the layout changes; part of every key, so formats never meet. */
const SHARED_FORMAT_VERSION = 1
const PREAMBLE_BYTES = 12
/** A header names a key of at most 1,024 bytes (S3's limit), JSON-escaped: this bounds it. */
const SHARED_HEADER_MAX_BYTES = 8192

/** What a block object claims to be; all of it must match the reader's request. */
export interface SharedBlockIdentity {
  /** The source bucket, and the object's full key in it (the mount's prefix included). */
  readonly bucket: string
  readonly key: string
  readonly etag: string
  readonly index: number
  /** Byte offset of the block in the object: index × block size. */
  readonly offset: number
  readonly length: number
}

interface Header extends SharedBlockIdentity {
  readonly crc32: number
}

/** Thrown by decodeSharedBlock; never leaves the shared tier (it is a miss). */
export class SharedBlockMismatch extends Error {
  override readonly name = 'SharedBlockMismatch'
}

function digest(parts: readonly (string | number)[], hexChars: number): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, hexChars)
}

/** The first part of every key: one per (source bucket, block size, format). */
export function sharedNamespace(bucket: string, blockSize: number): string {
  return digest([bucket, blockSize, SHARED_FORMAT_VERSION], 16)
}

/** The key of one block of one object version, relative to the tier's prefix. */
export function sharedBlockKey(namespace: string, key: string, etag: string, index: number): string {
  return `${namespace}/${digest([key, etag], 32)}/${index}`
}

/** Bytes to ask for when reading a block of `length` bytes: header room plus the data. */
export function sharedObjectMaxBytes(length: number): number {
  return PREAMBLE_BYTES + SHARED_HEADER_MAX_BYTES + length
}

export function encodeSharedBlock(id: SharedBlockIdentity, data: Buffer): Buffer {
  const header: Header = {
    bucket: id.bucket,
    key: id.key,
    etag: id.etag,
    index: id.index,
    offset: id.offset,
    length: data.length,
    crc32: crc32(data),
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const pre = Buffer.alloc(PREAMBLE_BYTES)
  MAGIC.copy(pre, 0)
  pre.writeUInt32LE(json.length, 8)
  return Buffer.concat([pre, json, data])
}

/** The data of a block object, if it is exactly the block `want` names; throws SharedBlockMismatch otherwise. */
export function decodeSharedBlock(object: Buffer, want: SharedBlockIdentity): Buffer {
  if (object.length < PREAMBLE_BYTES || !object.subarray(0, 8).equals(MAGIC)) throw new SharedBlockMismatch('not a shared block object')
  const headerBytes = object.readUInt32LE(8)
  if (headerBytes > SHARED_HEADER_MAX_BYTES || PREAMBLE_BYTES + headerBytes > object.length) throw new SharedBlockMismatch('bad header length')
  let header: Partial<Header>
  try {
    header = JSON.parse(object.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerBytes).toString('utf8')) as Partial<Header>
  } catch {
    throw new SharedBlockMismatch('unreadable header')
  }
  for (const field of ['bucket', 'key', 'etag', 'index', 'offset', 'length'] as const) {
    if (header[field] !== want[field]) throw new SharedBlockMismatch(`header ${field} ${String(header[field])}, expected ${String(want[field])}`)
  }
  const data = object.subarray(PREAMBLE_BYTES + headerBytes)
  if (data.length !== want.length) throw new SharedBlockMismatch(`${data.length} data bytes, expected ${want.length}`)
  if (crc32(data) !== header.crc32) throw new SharedBlockMismatch('checksum mismatch')
  return data
}
