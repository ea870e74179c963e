/**
 * Eviction policies on synthetic traces, driven as DiskBlockCache drives them
 * (insert on a miss, access on a hit, evict while over the bound). The
 * scan-resistant policy must reach its theoretical hit ratio on a cyclic scan of
 * twice the cache (0.9·C/N = 0.45), where LRU has none, and must not lose to LRU
 * on skewed or scan-polluted workloads.
 */
import t from 'tap'
import { createEvictionPolicy, type EvictionPolicyName } from '../../src/cache/eviction/eviction-policy.js'
import { seededRandom } from '../helpers/seeded-random.js'

const BLOCK = 1024 * 1024
const hash = (k: number) => Math.imul(k + 1, 0x9e3779b1) >>> 0

function hitRatio(name: EvictionPolicyName, cacheBlocks: number, trace: Iterable<number>, warmup: number): number {
  const p = createEvictionPolicy<number>(name, hash)
  p.setCapacity(cacheBlocks * BLOCK)
  const cached = new Set<number>()
  let hits = 0
  let counted = 0
  let i = 0
  for (const k of trace) {
    const hit = cached.has(k)
    if (hit) p.access(k)
    else {
      p.insert(k, BLOCK)
      cached.add(k)
      while (p.bytes > cacheBlocks * BLOCK) {
        const v = p.evict()
        if (v === undefined) break
        cached.delete(v)
      }
    }
    if (i++ >= warmup) {
      counted++
      if (hit) hits++
    }
  }
  return hits / counted
}

function* cyclic(n: number, passes: number): Generator<number> {
  for (let p = 0; p < passes; p++) for (let i = 0; i < n; i++) yield i
}

function* zipf(n: number, count: number, s: number, seed: number): Generator<number> {
  const r = seededRandom(seed)
  const cdf: number[] = []
  let total = 0
  for (let i = 1; i <= n; i++) {
    total += 1 / i ** s
    cdf.push(total)
  }
  for (let k = 0; k < count; k++) {
    const x = r() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const m = (lo + hi) >> 1
      if ((cdf[m] as number) < x) lo = m + 1
      else hi = m
    }
    yield lo
  }
}

function* hotSetWithScans(cacheBlocks: number, count: number, seed: number): Generator<number> {
  const r = seededRandom(seed)
  let scanKey = 1e9
  for (let k = 0; k < count; k++) {
    if (k % 20_000 < 8000) yield scanKey++
    else yield Math.floor(r() ** 2 * cacheBlocks * 0.8)
  }
}

const C = 1000

t.test('cyclic scan of twice the cache: LRU ~0, scan-resistant at its theoretical 0.9·C/N', async t => {
  const lru = hitRatio('lru', C, cyclic(2 * C, 6), 2 * C)
  const sr = hitRatio('scan-resistant', C, cyclic(2 * C, 6), 2 * C)
  t.ok(lru < 0.01, `LRU hit ratio ${lru.toFixed(3)}`)
  const theory = (0.9 * C) / (2 * C)
  t.ok(Math.abs(sr - theory) < 0.03, `scan-resistant hit ratio ${sr.toFixed(3)}, theory ${theory}`)
})

t.test('a loop that fits is all hits for both', async t => {
  t.equal(hitRatio('lru', C, cyclic(800, 4), 800), 1)
  t.equal(hitRatio('scan-resistant', C, cyclic(800, 4), 800), 1)
})

t.test('skewed and scan-polluted workloads: no worse than LRU', async t => {
  const z = [...zipf(10 * C, 100_000, 0.8, 2)]
  const zl = hitRatio('lru', C, z, 10_000)
  const zs = hitRatio('scan-resistant', C, z, 10_000)
  t.ok(zs >= zl, `zipf 0.8: scan-resistant ${zs.toFixed(3)} ≥ LRU ${zl.toFixed(3)}`)
  const h = [...hotSetWithScans(C, 100_000, 3)]
  const hl = hitRatio('lru', C, h, 10_000)
  const hs = hitRatio('scan-resistant', C, h, 10_000)
  t.ok(hs > hl, `hot set + one-time scans: scan-resistant ${hs.toFixed(3)} > LRU ${hl.toFixed(3)}`)
})

t.test('policy bookkeeping: remove, preload, capacity', async t => {
  const p = createEvictionPolicy<number>('scan-resistant', hash)
  p.setCapacity(10 * BLOCK)
  for (let i = 0; i < 5; i++) p.insert(i, BLOCK)
  p.remove(2)
  t.equal(p.size, 4)
  t.equal(p.bytes, 4 * BLOCK)
  p.insert(100, BLOCK, true)
  const order: number[] = []
  for (let v = p.evict(); v !== undefined; v = p.evict()) order.push(v)
  t.same(
    order.sort((a, b) => a - b),
    [0, 1, 3, 4, 100],
    'everything comes out once',
  )
  t.equal(p.bytes, 0)
  const l = createEvictionPolicy<number>('lru', hash)
  l.insert(1, 1)
  l.insert(2, 1)
  l.access(1)
  t.equal(l.evict(), 2, 'LRU evicts the least recently used')
})
