import t from 'tap'
import { TtlCache } from '../../src/metadata/ttl-cache.js'

t.test('entries expire after their TTL on the injected clock', async t => {
  let now = 1000
  const c = new TtlCache<{ v: number }>({ maxWeight: 10, clock: () => now })
  c.set('a', { v: 1 }, 100)
  c.set('forever', { v: 2 }, Infinity)
  t.same(c.get('a'), { v: 1 })
  now += 99
  t.same(c.get('a'), { v: 1 })
  now += 1
  t.equal(c.get('a'), undefined, 'expired at exactly the TTL')
  now += 1e12
  t.same(c.get('forever'), { v: 2 }, 'Infinity never expires')
})

t.test('a zero TTL stores nothing', async t => {
  const c = new TtlCache<{ v: number }>({ maxWeight: 10, clock: () => 0 })
  c.set('a', { v: 1 }, 0)
  t.equal(c.get('a'), undefined)
})

t.test('a zero TTL drops what the key held (a removal must not leave the old entry behind)', async t => {
  const c = new TtlCache<{ v: number }>({ maxWeight: 10, clock: () => 0 })
  c.set('a', { v: 1 }, 1000)
  c.set('a', { v: 2 }, 0)
  t.equal(c.get('a'), undefined)
})

t.test('bounded by weight, least recently used evicted first', async t => {
  const c = new TtlCache<{ n: number }>({ maxWeight: 10, clock: () => 0, weightOf: v => v.n })
  c.set('a', { n: 4 }, 1000)
  c.set('b', { n: 4 }, 1000)
  c.get('a')
  c.set('c', { n: 4 }, 1000)
  t.ok(c.get('a'), 'recently used survives')
  t.equal(c.get('b'), undefined, 'least recently used evicted')
  t.ok(c.get('c'))
})
