import t from 'tap'
import { AheadBudget, type PrefetchRange, ReadAhead } from '../../src/cache/read-ahead.js'

const MiB = 1024 * 1024
const K128 = 128 * 1024

t.test('sequential reads grow the window up to the cap', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  const size = 1024 * MiB
  const ranges = []
  for (let off = 0; off < 64 * MiB; off += K128) {
    const r = ra.onRead(off, K128, size)
    if (r) ranges.push(r)
  }
  t.ok(ranges.length > 0)
  t.equal(ranges[0]?.start, K128, 'starts right after the first read')
  for (const r of ranges) t.ok(r.endExclusive - r.start <= 8 * MiB + K128, 'never more than the cap ahead')
  const last = ranges[ranges.length - 1]!
  t.ok(last.endExclusive >= 64 * MiB, 'keeps ahead of the reader')
  for (let i = 1; i < ranges.length; i++) t.ok(ranges[i]!.start >= ranges[i - 1]!.endExclusive, 'never asks twice for the same bytes')
})

t.test('random reads prefetch nothing', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  const size = 1024 * MiB
  ra.onRead(500 * MiB, 4096, size)
  t.equal(ra.onRead(100 * MiB, 4096, size), undefined)
  t.equal(ra.onRead(900 * MiB, 4096, size), undefined)
})

t.test('a random pread arriving as consecutive 128 KiB pieces fetches no next block; a run of a block from anywhere opens a window', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  const size = 1024 * MiB
  for (const at of [300 * MiB, 17 * MiB + 5 * K128, 700 * MiB]) {
    t.equal(ra.onRead(at, K128, size), undefined, `first piece at ${at}`)
    t.equal(ra.onRead(at + K128, K128, size), undefined, `second piece at ${at}`)
  }
  const from = 40 * MiB
  const asked = Array.from({ length: 9 }, (_, n) => ra.onRead(from + n * K128, K128, size))
  t.same(asked.slice(0, 8), Array(8).fill(undefined), 'nothing until the run has read more than a block (a random 1 MiB pread neither)')
  t.same(asked[8], { start: from + 9 * K128, endExclusive: from + 9 * K128 + MiB }, 'then the initial window right after the run')
  t.ok(ra.windowOpen, 'the window is open')
  const fresh = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  t.equal(fresh.onRead(512 * 1024, K128, size), undefined, "a handle's first read near the start is no run from offset 0")
  t.notOk(fresh.windowOpen)
  t.ok(fresh.onRead(0, K128, size), 'a read at offset 0 reads ahead at once')
})

t.test('never beyond the end of the object', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  const size = 3 * MiB
  for (let off = 0; off < size; off += K128) {
    const r = ra.onRead(off, K128, size)
    if (r) t.ok(r.endExclusive <= size)
  }
})

t.test('slightly out-of-order pieces still count as sequential', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB })
  const size = 100 * MiB
  for (const at of [0, 2 * K128, K128, 3 * K128, 5 * K128, 4 * K128]) {
    ra.onRead(at, K128, size)
    t.ok(ra.sequential, `the piece at ${at / K128} × 128 KiB continues the run`)
    t.ok(ra.windowOpen, 'the window stays open')
  }
  t.equal(ra.onRead(900 * MiB, K128, size), undefined)
  t.notOk(ra.sequential, 'a piece far away does not')
})

t.test('the window grows eightfold per sequential read, so the whole window is asked for by the fourth read', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 128 * MiB, stepBytes: 8 * MiB })
  const size = 1024 * MiB
  const asked = [0, 1, 2, 3].map(n => ra.onRead(n * MiB, MiB, size))
  t.same(asked, [
    { start: MiB, endExclusive: 2 * MiB },
    { start: 2 * MiB, endExclusive: 8 * MiB },
    { start: 8 * MiB, endExclusive: 64 * MiB },
    { start: 64 * MiB, endExclusive: 128 * MiB },
  ])
  const doubling = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 128 * MiB, stepBytes: 8 * MiB, growth: 2 })
  const reads = [0, 1, 2, 3].map(n => doubling.onRead(n * MiB, MiB, size)?.endExclusive)
  t.same(reads, [2 * MiB, 4 * MiB, 7 * MiB, undefined], 'doubling, four reads have asked for 7 MiB')
})

t.test('a run that starts elsewhere doubles until it has read a part, then grows eightfold', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 128 * MiB, stepBytes: 8 * MiB })
  const size = 4096 * MiB
  const from = 1000 * MiB
  // A 4 MiB pread at a random offset (a Parquet column chunk), as the kernel's 1 MiB pieces.
  const asked = [0, 1, 2, 3].map(n => ra.onRead(from + n * MiB, MiB, size)?.endExclusive ?? 0)
  t.ok(Math.max(...asked) - from <= 8 * MiB, `asks for at most 4 MiB beyond what it read (up to ${(Math.max(...asked) - from) / MiB} MiB in)`)
  // The run goes on: once it has read a part, the window grows eightfold.
  let upTo = 0
  for (let n = 4; n < 12; n++) upTo = Math.max(upTo, ra.onRead(from + n * MiB, MiB, size)?.endExclusive ?? 0)
  t.ok(upTo - from >= 64 * MiB, `after 12 MiB read, asked up to ${(upTo - from) / MiB} MiB in`)
})

t.test('the window is topped up every step, so fetches never drain', async t => {
  const ra = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 64 * MiB, stepBytes: 8 * MiB })
  const size = 1024 * MiB
  let ahead = 0
  for (let off = 0; off < 512 * MiB; off += K128) {
    const r = ra.onRead(off, K128, size)
    if (r) ahead = r.endExclusive
    if (off > 16 * MiB && off % (4 * MiB) === 0)
      t.ok(ahead - off >= 64 * MiB - 8 * MiB - K128, `at ${off / MiB} MiB, ${(ahead - off) / MiB} MiB requested ahead`)
  }
})

/** How far ahead of its last read a reader has asked for, after reading [0, upTo) sequentially. */
function aheadAfter(ra: ReadAhead, from: number, upTo: number, size: number): number {
  let requested = 0
  for (let off = from; off < upTo; off += K128) {
    const r = ra.onRead(off, K128, size)
    if (r) requested = r.endExclusive
  }
  return requested - upTo
}

t.test('the windows of all readers together stay within their budget, shared equally', async t => {
  const config = { initialWindowBytes: MiB, maxWindowBytes: 64 * MiB, stepBytes: 2 * MiB }
  const budget = new AheadBudget(16 * MiB)
  const size = 1024 * MiB
  const a = new ReadAhead(config, budget)
  t.ok(aheadAfter(a, 0, 64 * MiB, size) <= 14 * MiB, 'one reader: at most the budget ahead, not its 64 MiB cap')
  t.equal(budget.usage().bytes, 14 * MiB, 'one reader holds all of it but the two blocks it keeps behind its window')
  const b = new ReadAhead(config, budget)
  const c = new ReadAhead(config, budget)
  for (let off = 0; off < 64 * MiB; off += K128) {
    a.onRead(64 * MiB + off, K128, size)
    b.onRead(off, K128, size)
    c.onRead(off, K128, size)
    t.ok(budget.usage().bytes <= 16 * MiB + 2 * MiB, `never more than the budget (plus the initial window of a newcomer): ${budget.usage().bytes}`)
  }
  t.same(budget.usage(), { bytes: 9 * MiB, readers: 3 }, 'three readers share it: 3 MiB each (a third in whole MiB, less the two blocks each keeps behind)')
  b.onRead(900 * MiB, 4096, size)
  b.onRead(700 * MiB, 4096, size)
  t.equal(budget.usage().readers, 3, 'a reader gone random keeps what it fetched ahead and did not read...')
  t.ok(budget.usage().bytes <= 9 * MiB, '...never more than its window held')
  c.close()
  t.equal(budget.usage().readers, 2, 'a closed reader gives its window back')
  b.close()
  t.equal(budget.usage().readers, 1, '...and one gone random its room')
  a.close()
  t.same(budget.usage(), { bytes: 0, readers: 0 })
})

t.test('a reader that reads one piece elsewhere keeps room for what it fetched ahead, and picks its window up again', async t => {
  const config = { initialWindowBytes: MiB, maxWindowBytes: 16 * MiB, stepBytes: 2 * MiB }
  let shrinks = 0
  const budget = new AheadBudget(64 * MiB, MiB, () => shrinks++)
  const size = 1024 * MiB
  const a = new ReadAhead(config, budget)
  aheadAfter(a, 0, 32 * MiB, size) // requested up to 48 MiB: 16 MiB ahead of the reader
  t.equal(budget.usage().bytes, 16 * MiB)
  t.equal(a.onRead(1000 * MiB, K128, size), undefined, 'a footer read fetches nothing ahead')
  t.notOk(a.windowOpen, 'the window is closed: the reader reads at random')
  t.equal(budget.usage().bytes, 16 * MiB, 'the 16 MiB it fetched ahead keep their room in the memory tier')
  t.equal(shrinks, 0, 'so the tier drops none of them')
  // Back where it was: a run that did not start at offset 0 opens its window after its first MiB.
  let ahead: PrefetchRange | undefined
  for (let off = 32 * MiB; off < 34 * MiB && ahead === undefined; off += K128) ahead = a.onRead(off, K128, size)
  t.ok(a.windowOpen, 'reading sequentially again opens the window...')
  t.equal(budget.usage().bytes, 16 * MiB, '...as large as the room it kept, not its initial 1 MiB')
  t.equal(shrinks, 0)
  // Elsewhere: a footer read, then a run at another place starts with the initial window.
  aheadAfter(a, 34 * MiB, 40 * MiB, size)
  t.equal(a.onRead(1000 * MiB, K128, size), undefined)
  const kept = budget.usage().bytes
  t.ok(kept > MiB, `room kept after the second footer read (${kept / MiB} MiB)`)
  for (let off = 500 * MiB; off < 500 * MiB + MiB + K128; off += K128) a.onRead(off, K128, size)
  t.ok(a.windowOpen, 'a run elsewhere opens a window...')
  t.equal(budget.usage().bytes, MiB, '...of the initial 1 MiB: the room kept for the old place is given back')
  a.close()
  t.same(budget.usage(), { bytes: 0, readers: 0 }, 'closed: nothing held')
  t.ok(shrinks >= 1)
})

t.test('a reader always gets its initial window, however full the budget', async t => {
  const config = { initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: MiB }
  const budget = new AheadBudget(2 * MiB)
  const readers = Array.from({ length: 5 }, () => new ReadAhead(config, budget))
  for (const r of readers) t.ok(r.onRead(0, K128, 100 * MiB) !== undefined, 'it prefetches')
  t.equal(budget.usage().readers, 5)
  for (const r of readers) r.close()
  t.same(budget.usage(), { bytes: 0, readers: 0 })
})

t.test('the blocks a reader keeps behind its window are counted in blocks of the cache, whatever the initial window', async t => {
  const budget = new AheadBudget(16 * MiB, 4 * MiB)
  const a = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 64 * MiB, stepBytes: MiB }, budget)
  t.ok(aheadAfter(a, 0, 64 * MiB, 1024 * MiB) <= 8 * MiB, 'at most 16 MiB less two 4 MiB blocks ahead')
  t.equal(budget.usage().bytes, 8 * MiB)
  a.close()
})

t.test('the budget says when windows give bytes back, so the memory tier can take back the room it lent', async t => {
  let shrinks = 0
  const budget = new AheadBudget(64 * MiB, MiB, () => shrinks++)
  const a = new ReadAhead({ initialWindowBytes: MiB, maxWindowBytes: 64 * MiB, stepBytes: 2 * MiB }, budget)
  aheadAfter(a, 0, 16 * MiB, 1024 * MiB)
  t.equal(shrinks, 0, 'a growing window gives nothing back')
  t.ok(budget.usage().bytes > 0)
  a.close()
  t.equal(shrinks, 1, 'closing gives its window back')
  t.equal(budget.usage().bytes, 0)
})

t.test('the room lent by the memory tier covers the windows and the blocks each reader keeps behind its window', async t => {
  const budget = new AheadBudget(64 * MiB, MiB)
  const config = { initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 2 * MiB }
  const readers = [0, 1, 2].map(() => new ReadAhead(config, budget))
  for (const r of readers) aheadAfter(r, 0, 16 * MiB, 1024 * MiB)
  t.same(budget.usage(), { bytes: 24 * MiB, readers: 3 })
  t.equal(budget.lentBytes(), 24 * MiB + 3 * 2 * MiB, 'three windows of 8 MiB and two blocks behind each')
  for (const r of readers) r.close()
  t.equal(budget.lentBytes(), 0)
  const small = new AheadBudget(4 * MiB, MiB)
  const r = new ReadAhead(config, small)
  aheadAfter(r, 0, 16 * MiB, 1024 * MiB)
  t.equal(small.lentBytes(), 4 * MiB, 'never more than the budget')
})
