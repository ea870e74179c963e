import { randomBytes } from 'node:crypto'
import t from 'tap'
import { BLOCK_HEADER_BYTES, decodeBlock, encodeBlock } from '../../src/cache/block-file-format.js'
import { CacheCorruptError } from '../../src/errors.js'

t.test('round trip', async t => {
  const data = randomBytes(100_000)
  const file = encodeBlock(data)
  t.equal(file.length, data.length + BLOCK_HEADER_BYTES)
  t.ok(decodeBlock(file, data.length).equals(data))
  t.equal(decodeBlock(encodeBlock(Buffer.alloc(0)), 0).length, 0)
})

t.test('every kind of damage is detected', async t => {
  const data = randomBytes(4096)
  const good = encodeBlock(data)
  const flipped = Buffer.from(good)
  flipped[BLOCK_HEADER_BYTES + 100]! ^= 1
  t.throws(() => decodeBlock(flipped, data.length), CacheCorruptError, 'a flipped data bit')
  t.throws(() => decodeBlock(good.subarray(0, good.length - 1), data.length), CacheCorruptError, 'truncated')
  t.throws(() => decodeBlock(good, data.length + 1), CacheCorruptError, 'unexpected length')
  const badMagic = Buffer.from(good)
  badMagic[0] = 0
  t.throws(() => decodeBlock(badMagic, data.length), CacheCorruptError, 'bad magic')
  t.throws(() => decodeBlock(Buffer.alloc(3), 0), CacheCorruptError, 'shorter than a header')
  t.throws(() => decodeBlock(Buffer.alloc(BLOCK_HEADER_BYTES + 4096), 4096), CacheCorruptError, 'zero-filled file')
})
