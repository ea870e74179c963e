import { randomBytes } from 'node:crypto'
import t from 'tap'
import { blockFileBytes, blockHeaderBytes, CHUNK_BYTES, decodeBlock, encodeBlock, verifyBlock } from '../../src/cache/block-file-format.js'
import { CacheCorruptError } from '../../src/errors.js'
import { legacyBlock, version2Block } from '../helpers/legacy-block.js'

/** Reads `file` as BlockFiles does: one preadv into a version-2-sized header and the caller's buffer. */
function readAsBlockFiles(file: Buffer, expectedLength: number): Buffer {
  const header = Buffer.alloc(blockHeaderBytes(expectedLength))
  const data = Buffer.alloc(expectedLength)
  const n = file.copy(header, 0, 0) + (file.length > header.length ? file.copy(data, 0, header.length) : 0)
  verifyBlock(header, data, n, expectedLength)
  return data
}

t.test('round trip, with one checksum per 64 KiB chunk', async t => {
  for (const size of [0, 1, 3, 4, 100_000, CHUNK_BYTES, CHUNK_BYTES + 1, 1024 * 1024]) {
    const data = randomBytes(size)
    const file = encodeBlock(data)
    t.equal(file.length, blockFileBytes(size), `${size}: file size`)
    t.equal(
      blockHeaderBytes(size),
      size > 0 && size % 4096 === 0 ? 4096 : 16 + 4 * Math.ceil(size / CHUNK_BYTES),
      `${size}: version 3 (data at 4096) for a multiple of 4096`,
    )
    if (size > 0) t.equal(file[4], size % 4096 === 0 ? 3 : 2)
    t.ok(decodeBlock(file, size).equals(data), `${size}: decoded`)
    t.ok(readAsBlockFiles(file, size).equals(data), `${size}: read as the cache reads`)
  }
})

t.test('every kind of damage is detected', async t => {
  const data = randomBytes(3 * CHUNK_BYTES + 4096)
  const good = encodeBlock(data)
  const h = blockHeaderBytes(data.length)
  for (const at of [h, h + 100, h + CHUNK_BYTES + 7, good.length - 1]) {
    const flipped = Buffer.from(good)
    flipped[at]! ^= 1
    t.throws(() => decodeBlock(flipped, data.length), CacheCorruptError, `a flipped data bit at ${at - h}`)
  }
  const table = Buffer.from(good)
  table[16 + 5]! ^= 1
  t.throws(() => decodeBlock(table, data.length), CacheCorruptError, 'a flipped bit in the chunk table')
  t.throws(() => decodeBlock(good.subarray(0, good.length - 1), data.length), CacheCorruptError, 'truncated')
  t.throws(() => decodeBlock(good, data.length + 1), CacheCorruptError, 'unexpected length')
  const badMagic = Buffer.from(good)
  badMagic[0] = 0
  t.throws(() => decodeBlock(badMagic, data.length), CacheCorruptError, 'bad magic')
  const badChunk = Buffer.from(good)
  badChunk[5] = 12
  t.throws(() => decodeBlock(badChunk, data.length), CacheCorruptError, 'another chunk size')
  const badVersion = Buffer.from(good)
  badVersion[4] = 4
  t.throws(() => decodeBlock(badVersion, data.length), CacheCorruptError, 'an unknown version')
  const odd = encodeBlock(randomBytes(5000))
  odd[4] = 3
  t.throws(() => decodeBlock(odd, 5000), CacheCorruptError, 'version 3 for a length it is not written for')
  const padding = Buffer.from(good)
  padding[h - 1]! ^= 1
  t.ok(decodeBlock(padding, data.length).equals(data), "version 3's padding is no part of the block")
  t.throws(() => decodeBlock(Buffer.alloc(3), 0), CacheCorruptError, 'shorter than a header')
  t.throws(() => decodeBlock(Buffer.alloc(blockFileBytes(4096)), 4096), CacheCorruptError, 'zero-filled file')
})

t.test('blocks written in format version 1 are still read, and checked', async t => {
  for (const size of [1, 3, 5000, CHUNK_BYTES + 9, 1024 * 1024]) {
    const data = randomBytes(size)
    t.ok(readAsBlockFiles(legacyBlock(data), size).equals(data), `${size} bytes`)
  }
  const damaged = legacyBlock(randomBytes(5000))
  damaged[16 + 4999]! ^= 1
  t.throws(() => readAsBlockFiles(damaged, 5000), CacheCorruptError, 'a flipped bit')
  t.throws(() => readAsBlockFiles(legacyBlock(randomBytes(5000)).subarray(0, 5010), 5000), CacheCorruptError, 'truncated')
})

t.test('blocks of whole pages written in format version 2 (by an older release) are still read, and checked', async t => {
  for (const size of [4096, 3 * CHUNK_BYTES, 1024 * 1024]) {
    const data = randomBytes(size)
    t.ok(readAsBlockFiles(version2Block(data), size).equals(data), `${size} bytes`)
    t.ok(decodeBlock(version2Block(data), size).equals(data), `${size} bytes, decoded`)
  }
  const damaged = version2Block(randomBytes(1024 * 1024))
  damaged[16 + 4 * 16 + 5000]! ^= 1
  t.throws(() => readAsBlockFiles(damaged, 1024 * 1024), CacheCorruptError, 'a flipped bit in an old block of a whole MiB')
  const early = version2Block(randomBytes(1024 * 1024))
  early[16 + 4 * 16 + 10]! ^= 1
  t.throws(() => readAsBlockFiles(early, 1024 * 1024), CacheCorruptError, 'a flipped bit among the bytes the longer header read')
})
