// The shard workload's random-read list: deterministic per seed, distinct
// aligned whole blocks inside the shard, ~10 % of it, in a shuffled order,
// and the four-thread split reads every offset exactly once.
import t from 'tap'
import { RANDOM_READ_BYTES, randomReadCount, randomReadOffsets } from '../../tools/bench/dataset/random-offsets.js'
import { splitEvenly } from '../../tools/bench/workloads/loader.js'

const GiB = 1 << 30
const MiB = 1 << 20

t.test('the same seed gives the same list; another seed another', async (t) => {
  const a = randomReadOffsets(GiB, 1)
  t.same(randomReadOffsets(GiB, 1), a)
  t.notSame(randomReadOffsets(GiB, 2).offsets, a.offsets)
  t.equal(a.readBytes, 256 * 1024)
  // Pinned: a change to the generator changes what every published number read.
  t.same(a.offsets.slice(0, 4).map((o) => o / RANDOM_READ_BYTES), [2628, 1027, 2240, 815])
})

t.test('distinct aligned whole blocks covering ~10 % of the shard', async (t) => {
  for (const [bytes, reads] of [[GiB, 410], [256 * MiB, 102], [128 * MiB, 51], [MiB, 1], [RANDOM_READ_BYTES * 3, 1]] as const) {
    const { offsets, readBytes } = randomReadOffsets(bytes, 1)
    t.equal(offsets.length, reads, `${bytes} bytes: ${reads} reads`)
    t.equal(randomReadCount(bytes), reads)
    t.equal(new Set(offsets).size, offsets.length, 'no offset twice')
    t.ok(offsets.every((o) => o % readBytes === 0 && o >= 0 && o + readBytes <= bytes), 'aligned, inside the shard')
    const covered = (offsets.length * readBytes) / bytes
    if (bytes >= 128 * MiB) t.ok(Math.abs(covered - 0.1) < 0.001, `covers ${(covered * 100).toFixed(2)} %`)
  }
  t.same(randomReadOffsets(RANDOM_READ_BYTES - 1, 1).offsets, [], 'a shard smaller than one read has none')
})

t.test('the order is shuffled and spread over the whole shard', async (t) => {
  const { offsets } = randomReadOffsets(GiB, 1)
  const sorted = [...offsets].sort((x, y) => x - y)
  t.notSame(offsets, sorted, 'not in file order')
  const ascending = offsets.slice(1).filter((o, i) => o > (offsets[i] as number)).length
  t.ok(ascending > 150 && ascending < 260, `about half the steps go forward (${ascending} of ${offsets.length - 1})`)
  // Each quarter of the shard holds roughly a quarter of the reads.
  const quarters = [0, 0, 0, 0]
  for (const o of offsets) quarters[Math.floor((o / GiB) * 4)]!++
  t.ok(quarters.every((q) => q > 70 && q < 135), `per quarter: ${quarters.join(', ')}`)
})

t.test('a full fraction reads every block once', async (t) => {
  const { offsets } = randomReadOffsets(64 * MiB, 3, RANDOM_READ_BYTES, 1)
  t.same([...offsets].sort((x, y) => x - y), Array.from({ length: 256 }, (_, i) => i * RANDOM_READ_BYTES))
})

t.test('four threads split the list: every offset once, in list order', async (t) => {
  const { offsets } = randomReadOffsets(GiB, 1)
  const shares = splitEvenly(offsets, 4)
  t.same(shares.map((s) => s.length), [102, 103, 102, 103])
  t.same(shares.flat(), offsets)
})
