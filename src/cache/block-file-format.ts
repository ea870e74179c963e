/**
 * On-disk format of one cached block (version 2): a header, a table of chunk
 * checksums, then the data.
 *
 *    0   4  magic 'S3CB'
 *    4   1  format version (2)
 *    5   1  log2 of the chunk size (16: 64 KiB)
 *    6   2  reserved, zero
 *    8   4  data length, uint32 LE
 *   12   4  CRC-32 of the chunk table, uint32 LE
 *   16  4N  CRC-32 of each 64 KiB chunk of the data (N = ceil(length / 64 KiB)), uint32 LE
 *   16+4N   the data
 *
 * A reader of a whole block checks every chunk; a reader of part of a block (the FUSE
 * threads' direct reads, vendor/fuse-native/direct-reads.h) reads the header and just
 * the chunks it serves, and checks those: a random 128 KiB read costs 128 KiB of disk
 * and checksum, not the whole block's. A block whose header or checksums do not match
 * is corrupt and must be treated as a miss (CacheCorruptError), never served.
 *
 * Version 1 (a 16-byte header with the CRC-32 of all the data at 12, then the data),
 * written before, is still read (`verifyBlock` takes it apart from one read laid out
 * for version 2).
 */
import { crc32 } from '../util/crc32.js'
import { CacheCorruptError } from '../errors.js'
import { CHUNK_BYTES, CHUNK_SHIFT, chunkChecksums, chunkCount } from '../util/chunk-checksums.js'

export { CHUNK_BYTES }

const MAGIC = 0x42433353 // 'S3CB' read as uint32 LE
const VERSION = 2
const LEGACY_VERSION = 1
/** The fixed part of the header (what version 1 had in all). */
const FIXED_HEADER_BYTES = 16

/** Bytes before the data in a block file holding `length` bytes. */
export function blockHeaderBytes(length: number): number {
  return FIXED_HEADER_BYTES + 4 * chunkCount(length)
}

/** Size of the block file holding `length` bytes of data. */
export function blockFileBytes(length: number): number {
  return blockHeaderBytes(length) + length
}

/**
 * The header and chunk table to write before `data` (with writev: the data itself is never
 * copied); the chunks' sums are the ones taken as `data` arrived, when it was a GET's piece.
 */
export function blockHeader(data: Buffer): Buffer {
  const out = Buffer.alloc(blockHeaderBytes(data.length))
  out.writeUInt32LE(MAGIC, 0)
  out.writeUInt8(VERSION, 4)
  out.writeUInt8(CHUNK_SHIFT, 5)
  out.writeUInt32LE(data.length, 8)
  const sums = chunkChecksums(data)
  for (let n = 0; n < sums.length; n++) out.writeUInt32LE(sums[n] as number, FIXED_HEADER_BYTES + 4 * n)
  out.writeUInt32LE(crc32(out.subarray(FIXED_HEADER_BYTES)), 12)
  return out
}

/** Header and data in one buffer. */
export function encodeBlock(data: Buffer): Buffer {
  return Buffer.concat([blockHeader(data), data])
}

/** The data of an encoded block (of either version, read as BlockFiles reads it); throws CacheCorruptError. */
export function decodeBlock(file: Buffer, expectedLength: number): Buffer {
  const headerBytes = Math.min(file.length, blockHeaderBytes(expectedLength))
  const data = Buffer.alloc(expectedLength)
  file.copy(data, 0, headerBytes)
  verifyBlock(file.subarray(0, headerBytes), data, file.length, expectedLength)
  return data
}

/**
 * Checks a block read as its header and its data in two buffers (one `preadv` into
 * a header of `blockHeaderBytes(expectedLength)` and straight into the reader's
 * buffer); `bytesRead` is what the read returned in all. A version-1 block read that
 * way is put right in place (its data began right after 16 bytes) and checked as
 * version 1. Throws CacheCorruptError.
 */
export function verifyBlock(header: Buffer, data: Buffer, bytesRead: number, expectedLength: number): void {
  if (bytesRead < FIXED_HEADER_BYTES || header.length < FIXED_HEADER_BYTES || header.readUInt32LE(0) !== MAGIC) {
    throw new CacheCorruptError('bad block header')
  }
  const version = header.readUInt8(4)
  if (version === LEGACY_VERSION) return verifyLegacy(header, data, bytesRead, expectedLength)
  if (version !== VERSION || header.readUInt8(5) !== CHUNK_SHIFT) throw new CacheCorruptError('bad block header')
  const length = header.readUInt32LE(8)
  const headerBytes = blockHeaderBytes(expectedLength)
  if (length !== expectedLength || header.length !== headerBytes || bytesRead !== headerBytes + length || data.length !== length) {
    throw new CacheCorruptError(`block length ${bytesRead - headerBytes}, header says ${length}, expected ${expectedLength}`)
  }
  const table = header.subarray(FIXED_HEADER_BYTES)
  if (crc32(table) !== header.readUInt32LE(12)) throw new CacheCorruptError('block checksum table mismatch')
  for (let at = 0, n = 0; at < length; at += CHUNK_BYTES, n++) {
    if (crc32(data.subarray(at, at + CHUNK_BYTES)) !== table.readUInt32LE(4 * n)) throw new CacheCorruptError('block checksum mismatch')
  }
}

/** A version-1 block read with a version-2 layout: its data starts 16 bytes in, so the header's tail holds the data's first bytes. */
function verifyLegacy(header: Buffer, data: Buffer, bytesRead: number, expectedLength: number): void {
  const length = header.readUInt32LE(8)
  if (length !== expectedLength || bytesRead !== FIXED_HEADER_BYTES + length || data.length !== length) {
    throw new CacheCorruptError(`block length ${bytesRead - FIXED_HEADER_BYTES}, header says ${length}, expected ${expectedLength}`)
  }
  const early = header.subarray(FIXED_HEADER_BYTES, Math.min(header.length, FIXED_HEADER_BYTES + length))
  data.copy(data, early.length, 0, length - early.length)
  early.copy(data, 0)
  if (crc32(data) !== header.readUInt32LE(12)) throw new CacheCorruptError('block checksum mismatch')
}
