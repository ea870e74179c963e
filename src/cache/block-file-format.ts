/**
 * On-disk format of one cached block: a 16-byte header, then the data.
 *
 *   0  4  magic 'S3CB'
 *   4  1  format version (1)
 *   5  3  reserved, zero
 *   8  4  data length, uint32 LE
 *  12  4  CRC-32 of the data, uint32 LE
 *
 * A block whose header or checksum does not match is corrupt and must be treated
 * as a miss (CacheCorruptError), never served.
 */
import { crc32 } from 'node:zlib'
import { CacheCorruptError } from '../errors.js'

const MAGIC = 0x42433353 // 'S3CB' read as uint32 LE
const VERSION = 1
export const BLOCK_HEADER_BYTES = 16

/** The header to write before `data` (with writev: the data itself is never copied). */
export function blockHeader(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BLOCK_HEADER_BYTES)
  out.writeUInt32LE(MAGIC, 0)
  out.writeUInt8(VERSION, 4)
  out.fill(0, 5, 8)
  out.writeUInt32LE(data.length, 8)
  out.writeUInt32LE(crc32(data), 12)
  return out
}

/** Header and data in one buffer. */
export function encodeBlock(data: Buffer): Buffer {
  return Buffer.concat([blockHeader(data), data])
}

/** The data of an encoded block (a view into `file`); throws CacheCorruptError. */
export function decodeBlock(file: Buffer, expectedLength: number): Buffer {
  const data = file.subarray(BLOCK_HEADER_BYTES)
  verifyBlock(file.subarray(0, BLOCK_HEADER_BYTES), data, file.length, expectedLength)
  return data
}

/**
 * Checks a block read as its header and its data in two buffers (one `preadv`
 * straight into the reader's buffer); `bytesRead` is what the read returned in all.
 * Throws CacheCorruptError.
 */
export function verifyBlock(header: Buffer, data: Buffer, bytesRead: number, expectedLength: number): void {
  if (bytesRead < BLOCK_HEADER_BYTES || header.readUInt32LE(0) !== MAGIC || header.readUInt8(4) !== VERSION) {
    throw new CacheCorruptError('bad block header')
  }
  const length = header.readUInt32LE(8)
  if (length !== expectedLength || bytesRead !== BLOCK_HEADER_BYTES + length || data.length !== length) {
    throw new CacheCorruptError(`block length ${bytesRead - BLOCK_HEADER_BYTES}, header says ${length}, expected ${expectedLength}`)
  }
  if (crc32(data) !== header.readUInt32LE(12)) throw new CacheCorruptError('block checksum mismatch')
}
