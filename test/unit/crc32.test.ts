import { randomBytes } from 'node:crypto'
import { crc32 as zlibCrc32 } from 'node:zlib'
import Fuse from 'fuse-native'
import t from 'tap'
import { type Crc32, crc32, crc32Implementation, useCrc32 } from '../../src/util/crc32.js'

/** A plain table CRC-32 (zlib's polynomial), as a second correct implementation. */
const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const tableCrc32: Crc32 = (data, initial) => {
  let c = ~initial >>> 0
  for (const byte of data) c = (TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}

// Back to zlib's after each test: zlib agrees with itself.
t.afterEach(() => {
  useCrc32('zlib', (d, i) => zlibCrc32(d, i))
})

t.test("zlib's CRC-32 until another is installed", async t => {
  const data = randomBytes(100_000)
  t.equal(crc32(data), zlibCrc32(data))
  t.equal(crc32(data.subarray(10), 7), zlibCrc32(data.subarray(10), 7))
  t.equal(crc32Implementation(), 'zlib')
})

t.test('an implementation that agrees with zlib on every sample is installed and used', async t => {
  let calls = 0
  t.equal(
    useCrc32('table', (d, i) => (calls++, tableCrc32(d, i))),
    undefined,
    'accepted',
  )
  t.equal(crc32Implementation(), 'table')
  const data = randomBytes(70_000)
  calls = 0
  t.equal(crc32(data, 3), zlibCrc32(data, 3))
  t.equal(calls, 1, 'and used')
})

t.test('one that differs anywhere, or throws, is refused and the current one kept', async t => {
  let calls = 0
  // Wrong only past 64 KiB: a sum that would fail every large block's check.
  t.match(
    useCrc32('long', (d, i) => (calls++, d.length > 65_536 ? (tableCrc32(d, i) ^ 1) >>> 0 : tableCrc32(d, i))),
    /sum of 199996 bytes from 0 differs from zlib's/,
    'wrong on long buffers',
  )
  t.match(
    useCrc32('initial', (d, i) => (calls++, i === 0 ? tableCrc32(d, i) : 0)),
    /from 3421780262 differs from zlib's/,
    'ignores the initial value',
  )
  t.equal(
    useCrc32('throws', () => {
      throw new Error('no such function')
    }),
    'it failed: no such function',
    'throws',
  )
  t.equal(crc32Implementation(), 'zlib')
  calls = 0
  const data = randomBytes(100_000)
  t.equal(crc32(data), zlibCrc32(data))
  t.equal(calls, 0, 'none of them is used')
})

t.test("the binding's ISA-L CRC-32 agrees with zlib's and is accepted", async t => {
  const data = randomBytes(1 << 20)
  for (const [from, to, initial] of [
    [0, 1 << 20, 0],
    [3, 65_539, 0],
    [1, 2, 0xffffffff],
    [5, 5, 12_345],
  ] as const) {
    t.equal(Fuse.crc32(data.subarray(from, to), initial), zlibCrc32(data.subarray(from, to), initial), `bytes ${from}–${to} from ${initial}`)
  }
  t.throws(() => Fuse.crc32(data, -1), RangeError, 'an initial value outside 32 bits is refused, as by zlib')
  t.equal(
    useCrc32('isa-l', (d, i) => Fuse.crc32(d, i)),
    undefined,
  )
})
