/**
 * On-disk format of one cached block (versions 2 and 3): a header, a table of chunk
 * checksums, then the data.
 *
 *    0   4  magic 'S3CB'
 *    4   1  format version (2 or 3)
 *    5   1  log2 of the chunk size (16: 64 KiB)
 *    6   2  reserved, zero
 *    8   4  data length, uint32 LE
 *   12   4  CRC-32 of the chunk table, uint32 LE
 *   16  4N  CRC-32 of each 64 KiB chunk of the data (N = ceil(length / 64 KiB)), uint32 LE
 *   16+4N   version 2: the data
 *           version 3: zeros up to byte 4096 (DATA_ALIGN), then the data
 *
 * Version 3 is written for every block whose length is a multiple of 4096 (every whole
 * 1 MiB block), version 2 for the others: data that starts 4096 bytes in can be written
 * straight from the daemon's buffer to the disk, past the page cache (O_DIRECT,
 * vendor/fuse-native/block-writes.h). Which layout to expect follows from the length
 * (`blockHeaderBytes`); a version-2 file of such a length, written by an older release,
 * is still read (`verifyBlock` puts its data right in place).
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
const ALIGNED_VERSION = 3
const LEGACY_VERSION = 1
/** The fixed part of the header (what version 1 had in all). */
const FIXED_HEADER_BYTES = 16
/** Where a version-3 block's data starts: a page, so that it can be written with O_DIRECT on any disk. */
export const DATA_ALIGN = 4096

/** The header and chunk table of a block of `length` bytes: what the checks read. */
function tableEnd(length: number): number {
  return FIXED_HEADER_BYTES + 4 * chunkCount(length)
}

/** Whether a block of `length` bytes is written in version 3 (its data at DATA_ALIGN). */
function aligned(length: number): boolean {
  return length > 0 && length % DATA_ALIGN === 0 && tableEnd(length) <= DATA_ALIGN
}

/** Bytes before the data in a block file holding `length` bytes. */
export function blockHeaderBytes(length: number): number {
  return aligned(length) ? DATA_ALIGN : tableEnd(length)
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
  out.writeUInt8(aligned(data.length) ? ALIGNED_VERSION : VERSION, 4)
  out.writeUInt8(CHUNK_SHIFT, 5)
  out.writeUInt32LE(data.length, 8)
  const sums = chunkChecksums(data)
  for (let n = 0; n < sums.length; n++) out.writeUInt32LE(sums[n] as number, FIXED_HEADER_BYTES + 4 * n)
  out.writeUInt32LE(crc32(out.subarray(FIXED_HEADER_BYTES, tableEnd(data.length))), 12)
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
 * buffer); `bytesRead` is what the read returned in all. A block whose data began
 * earlier in its file than that layout has it (version 1, after 16 bytes; version 2 of a
 * length version 3 is now written for) is put right in place, then checked. Throws
 * CacheCorruptError.
 */
export function verifyBlock(header: Buffer, data: Buffer, bytesRead: number, expectedLength: number): void {
  if (bytesRead < FIXED_HEADER_BYTES || header.length < FIXED_HEADER_BYTES || header.readUInt32LE(0) !== MAGIC) {
    throw new CacheCorruptError('bad block header')
  }
  const version = header.readUInt8(4)
  if (version === LEGACY_VERSION) return verifyLegacy(header, data, bytesRead, expectedLength)
  const known = version === ALIGNED_VERSION ? aligned(expectedLength) : version === VERSION
  if (!known || header.readUInt8(5) !== CHUNK_SHIFT) throw new CacheCorruptError('bad block header')
  const length = header.readUInt32LE(8)
  const table = tableEnd(expectedLength)
  // Where this file's data starts, and where this read put it.
  const dataAt = version === ALIGNED_VERSION ? DATA_ALIGN : table
  if (
    length !== expectedLength ||
    header.length !== blockHeaderBytes(expectedLength) ||
    dataAt > header.length ||
    bytesRead !== dataAt + length ||
    data.length !== length
  ) {
    throw new CacheCorruptError(`block length ${bytesRead - dataAt}, header says ${length}, expected ${expectedLength}`)
  }
  if (crc32(header.subarray(FIXED_HEADER_BYTES, table)) !== header.readUInt32LE(12)) throw new CacheCorruptError('block checksum table mismatch')
  if (dataAt < header.length) shiftIntoPlace(header, data, dataAt, length)
  for (let at = 0, n = 0; at < length; at += CHUNK_BYTES, n++) {
    if (crc32(data.subarray(at, at + CHUNK_BYTES)) !== header.readUInt32LE(FIXED_HEADER_BYTES + 4 * n)) throw new CacheCorruptError('block checksum mismatch')
  }
}

/** A block whose data starts at `dataAt` of its file, read with a longer header: the header's tail holds the data's first bytes. */
function shiftIntoPlace(header: Buffer, data: Buffer, dataAt: number, length: number): void {
  const early = header.subarray(dataAt, Math.min(header.length, dataAt + length))
  data.copy(data, early.length, 0, length - early.length)
  early.copy(data, 0)
}

/** A version-1 block read with a later layout: its data starts 16 bytes in. */
function verifyLegacy(header: Buffer, data: Buffer, bytesRead: number, expectedLength: number): void {
  const length = header.readUInt32LE(8)
  if (length !== expectedLength || bytesRead !== FIXED_HEADER_BYTES + length || data.length !== length) {
    throw new CacheCorruptError(`block length ${bytesRead - FIXED_HEADER_BYTES}, header says ${length}, expected ${expectedLength}`)
  }
  shiftIntoPlace(header, data, FIXED_HEADER_BYTES, length)
  if (crc32(data) !== header.readUInt32LE(12)) throw new CacheCorruptError('block checksum mismatch')
}
