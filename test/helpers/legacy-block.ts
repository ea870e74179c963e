/** A block file as format version 1 wrote it (before chunk checksums): a 16-byte header with one CRC-32 of all the data, then the data. */
import { crc32 } from 'node:zlib'

export function legacyBlock(data: Buffer): Buffer {
  const header = Buffer.alloc(16)
  header.writeUInt32LE(0x42433353, 0) // 'S3CB'
  header.writeUInt8(1, 4)
  header.writeUInt32LE(data.length, 8)
  header.writeUInt32LE(crc32(data), 12)
  return Buffer.concat([header, data])
}
