/** forEachLimit: the bound on calls in flight, lazy pulling from the iterable, the first failure reported. */
import t from 'tap'
import { forEachLimit } from '../../src/util/for-each-limit.js'

t.test('bounds concurrency and reports the first failure', async t => {
  let inFlight = 0
  let peak = 0
  await forEachLimit(
    Array.from({ length: 20 }, (_, i) => i),
    3,
    async () => {
      peak = Math.max(peak, ++inFlight)
      await new Promise(r => setTimeout(r, 2))
      inFlight--
    },
  )
  t.equal(peak, 3)
  await t.rejects(
    forEachLimit([1, 2, 3], 2, async i => {
      if (i === 2) throw new Error('two')
    }),
    /two/,
  )
})

t.test('pulls items only as slots free up, from sync and async iterables', async t => {
  let pulled = 0
  function* items(): Generator<number> {
    for (let i = 0; i < 10; i++) {
      pulled++
      yield i
    }
  }
  const seen: number[] = []
  let ahead = 0
  await forEachLimit(items(), 2, async i => {
    ahead = Math.max(ahead, pulled - seen.length)
    await new Promise(r => setImmediate(r))
    seen.push(i)
  })
  t.equal(ahead, 2, 'never more items pulled than calls in flight')
  t.same(
    seen.sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
  async function* later(): AsyncGenerator<string> {
    yield 'a'
    yield 'b'
  }
  const got: string[] = []
  await forEachLimit(later(), 4, async s => {
    got.push(s)
  })
  t.same(got.sort(), ['a', 'b'])
})
