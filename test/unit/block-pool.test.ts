import t from 'tap'
import { BlockPool } from '../../src/cache/block-pool.js'
import { ChunkSummer, chunkChecksums } from '../../src/util/chunk-checksums.js'

const BS = 1024
const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('a block-sized buffer let go of by every holder is taken again, but only from the next turn of the event loop', async t => {
  const pool = new BlockPool(BS, 4 * BS)
  const a = pool.take(BS)
  pool.hold(a) // the memory tier
  pool.drop(a) // the GET's own hold
  t.not(pool.take(BS), a, 'still held: not reused')
  pool.drop(a) // the tier lets go
  t.not(pool.take(BS), a, 'not in the same turn: a reader whose wait just ended has not counted itself yet')
  await nextTurn()
  t.equal(pool.take(BS), a, 'reused from the next turn')
  t.same(pool.stats(), { allocated: 3, reused: 1, escaped: 0, freeBytes: 0 })
})

t.test('a buffer held again before the turn ends is not reused', async t => {
  const pool = new BlockPool(BS, 4 * BS)
  const a = pool.take(BS)
  pool.drop(a)
  pool.hold(a) // a reader, in the same turn
  await nextTurn()
  t.not(pool.take(BS), a, 'the reader holds it')
  pool.drop(a)
  await nextTurn()
  t.equal(pool.take(BS), a, 'reused once the reader let go')
})

t.test('an escaped buffer is never reused, whatever holds it let go', async t => {
  const pool = new BlockPool(BS, 4 * BS)
  const a = pool.take(BS)
  pool.hold(a)
  pool.escape(a)
  pool.drop(a)
  pool.drop(a)
  await nextTurn()
  t.not(pool.take(BS), a)
  const b = pool.take(BS)
  pool.drop(b)
  pool.escape(b) // escaped after its last drop, in the same turn
  await nextTurn()
  t.not(pool.take(BS), b)
  t.equal(pool.stats().escaped, 2)
})

t.test('other sizes are not pooled; drops of buffers the pool did not make, or more drops than holds, change nothing', async t => {
  const pool = new BlockPool(BS, 4 * BS)
  const short = pool.take(100)
  t.equal(short.length, 100)
  pool.drop(short)
  const foreign = Buffer.alloc(BS)
  pool.hold(foreign)
  pool.drop(foreign)
  pool.escape(foreign)
  const a = pool.take(BS)
  pool.drop(a)
  pool.drop(a)
  await nextTurn()
  t.equal(pool.take(BS), a)
  t.not(pool.take(BS), a, 'taken once only')
  t.same(pool.stats(), { allocated: 2, reused: 1, escaped: 0, freeBytes: 0 })
})

t.test('the pool keeps at most its bound of unused buffers', async t => {
  const pool = new BlockPool(BS, 2 * BS)
  const bufs = [pool.take(BS), pool.take(BS), pool.take(BS)]
  for (const b of bufs) pool.drop(b)
  await nextTurn()
  t.equal(pool.stats().freeBytes, 2 * BS)
})

t.test("a reused buffer's remembered chunk sums are forgotten: its next block's header sums its own bytes", async t => {
  const pool = new BlockPool(64 * 1024, 64 * 1024)
  const a = pool.take(64 * 1024)
  a.fill(1)
  new ChunkSummer(a).filledTo(a.length)
  const first = chunkChecksums(a)[0]
  pool.drop(a)
  await nextTurn()
  const again = pool.take(64 * 1024)
  t.equal(again, a)
  again.fill(2)
  t.not(chunkChecksums(again)[0], first, 'summed anew, not the sums of the bytes it held before')
})
