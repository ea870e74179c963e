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

const CHUNK = 64 * 1024

/** A block as version 2 wrote it, whatever its length (older releases wrote whole 1 MiB blocks so). */
export function version2Block(data: Buffer): Buffer {
  const chunks = Math.ceil(data.length / CHUNK)
  const header = Buffer.alloc(16 + 4 * chunks)
  header.writeUInt32LE(0x42433353, 0)
  header.writeUInt8(2, 4)
  header.writeUInt8(16, 5)
  header.writeUInt32LE(data.length, 8)
  for (let n = 0; n < chunks; n++) header.writeUInt32LE(crc32(data.subarray(n * CHUNK, (n + 1) * CHUNK)), 16 + 4 * n)
  header.writeUInt32LE(crc32(header.subarray(16)), 12)
  return Buffer.concat([header, data])
}
