import t from 'tap'
import { MemoryBlocks } from '../../src/cache/memory-blocks.js'

const KiB = 1024
const block = (n: number): Buffer => Buffer.alloc(n * KiB, n)

t.test('the tier lends read-ahead windows the room they hold, and takes it back once they give it up', async t => {
  let lent = 0
  const m = new MemoryBlocks(4 * KiB, Date.now, { maxBytes: 8 * KiB, bytes: () => lent })
  for (let i = 0; i < 4; i++) m.set(`a.${i}`, block(1), Infinity)
  m.set('a.4', block(1), Infinity)
  t.equal(m.usage().countedBytes, 4 * KiB, 'no window: the tier keeps its own size, the least recently used block went')
  t.notOk(m.has('a.0'))
  lent = 6 * KiB
  for (let i = 0; i < 6; i++) m.set(`w.${i}`, block(1), Infinity)
  t.equal(m.usage().countedBytes, 10 * KiB, 'a window of 6 KiB: the tier holds 4 + 6 KiB')
  t.ok(m.has('w.0') && m.has('w.5'), "the window's blocks are all there")
  lent = 100 * KiB
  for (let i = 6; i < 20; i++) m.set(`w.${i}`, block(1), Infinity)
  t.equal(m.usage().countedBytes, 12 * KiB, 'never more than the tier and the most the windows may hold')
  lent = 2 * KiB
  m.trim()
  t.equal(m.usage().countedBytes, 6 * KiB, 'the windows shrank: the room they gave back is taken back')
  t.ok(m.has('w.19') && !m.has('w.13'), 'the least recently used blocks went')
  lent = 0
  m.set('b.0', block(1), Infinity)
  t.equal(m.usage().countedBytes, 4 * KiB, 'the windows gone: back to its own size')
  t.ok(m.has('b.0'), 'the newest block stays')
})

t.test('without lent room the tier is bounded by its size alone', async t => {
  const m = new MemoryBlocks(3 * KiB)
  for (let i = 0; i < 10; i++) m.set(`x.${i}`, block(1), Infinity)
  t.equal(m.usage().countedBytes, 3 * KiB)
})
