/**
 * Property test of the cache bound: seeded random sequences of add / read / pin /
 * unpin / free / bound changes against BlockIndex and both eviction policies,
 * evicting as DiskBlockCache does after every change. After each step:
 *  - eviction never throws;
 *  - the index is within its bound unless pinned data alone exceeds it;
 *  - nothing leaks: draining every victim leaves exactly the pinned blocks, so
 *    every unpinned block was still known to the policy.
 * Seeds: S3CACHEFS_RANDOM_SEEDS (comma-separated) or 1..8.
 */
import t from 'tap'
import { BlockIndex } from '../../src/cache/block-index.js'
import type { CatalogEntry } from '../../src/cache/object-catalog.js'
import { EVICTION_POLICIES, createEvictionPolicy } from '../../src/cache/eviction/eviction-policy.js'
import { seededRandom } from '../helpers/seeded-random.js'

const KiB = 1024
const seeds = (process.env.S3CACHEFS_RANDOM_SEEDS ?? '1,2,3,4,5,6,7,8').split(',').map(Number)

/** Whole numbers in [0, n), from the seeded generator: the same sequence for the same seed. */
function rng(seed: number): (n: number) => number {
  const random = seededRandom(seed)
  return n => Math.floor(random() * n)
}

function evictWhileOver(ix: BlockIndex): number {
  let evicted = 0
  while (ix.usedBytes > ix.maxBytes) {
    if (ix.victim() === undefined) break
    evicted++
  }
  return evicted
}

const OBJECTS = 24

for (const policy of EVICTION_POLICIES) {
  t.test(`${policy}: random add/read/pin/unpin/free sequences keep the bound`, async t => {
    for (const seed of seeds) {
      const r = rng(seed)
      const pins = new Set<string>()
      const ix = new BlockIndex(policy, 64 * KiB, (e: CatalogEntry) => pins.has(e.key))
      const idOf = (o: number) => (0x10000000 + o * 7919).toString(16).padEnd(40, '0')
      for (let step = 0; step < 3000; step++) {
        const o = r(OBJECTS)
        const key = `k${o}`
        const op = r(100)
        if (op < 45) ix.add(idOf(o), r(8), 1 + r(8 * KiB), step, r(10) === 0, { ns: 'n', key })
        else if (op < 70) {
          const b = ix.get(idOf(o), r(8))
          if (b !== undefined) ix.touch(b, r(10) === 0)
        } else if (op < 78) {
          pins.add(key)
          ix.reapplyPins()
        } else if (op < 86) {
          pins.delete(key)
          ix.reapplyPins()
        } else if (op < 95) {
          const obj = ix.object(idOf(o))
          for (const b of [...(obj?.blocks ?? [])]) if (b !== undefined) ix.remove(b)
        } else ix.setMaxBytes([0, 1, 8 * KiB, 32 * KiB, 64 * KiB, 256 * KiB][r(6)] as number)
        evictWhileOver(ix)
        if (ix.usedBytes > ix.maxBytes && ix.usedBytes !== ix.pinnedBytes) {
          t.fail(`seed ${seed} step ${step}: ${ix.usedBytes} B used > bound ${ix.maxBytes} with ${ix.usedBytes - ix.pinnedBytes} B unpinned`)
          return
        }
      }
      // No leak: with a bound of 0 every unpinned block must come out as a victim.
      ix.setMaxBytes(0)
      evictWhileOver(ix)
      t.equal(ix.usedBytes, ix.pinnedBytes, `seed ${seed}: only pinned data left`)
      let pinnedBlocks = 0
      for (const obj of ix.objects()) if (obj.pinned) pinnedBlocks += obj.blockCount
      t.equal(ix.blocks, pinnedBlocks, `seed ${seed}: block count agrees`)
    }
  })
}

t.test('policies alone: evict never throws and returns only what they hold', async t => {
  for (const policy of EVICTION_POLICIES) {
    for (const seed of seeds) {
      const r = rng(seed)
      const p = createEvictionPolicy<number>(policy, k => Math.imul(k + 1, 0x9e3779b1) >>> 0)
      const held = new Map<number, number>()
      let ok = true
      for (let step = 0; step < 5000 && ok; step++) {
        const k = r(200)
        const op = r(100)
        if (op < 5) p.setCapacity(r(4) * 16 * KiB)
        else if (op < 50) {
          const bytes = 1 + r(4 * KiB)
          p.insert(k, bytes, r(8) === 0)
          held.set(k, bytes)
        } else if (op < 70) p.access(k)
        else if (op < 80) {
          p.remove(k)
          held.delete(k)
        } else {
          const v = p.evict()
          if (v === undefined) ok = held.size === 0
          else ok = held.delete(v)
        }
        let bytes = 0
        for (const b of held.values()) bytes += b
        if (ok) ok = p.size === held.size && p.bytes === bytes
        if (!ok) t.fail(`${policy} seed ${seed} step ${step}: policy holds ${p.size} (${p.bytes} B), model ${held.size} (${bytes} B)`)
      }
      if (ok) t.pass(`${policy} seed ${seed}`)
    }
  }
})

t.test('scan-resistant: a newcomer with an empty main queue is evicted instead of throwing', async t => {
  const p = createEvictionPolicy<number>('scan-resistant', () => 1)
  p.setCapacity(0)
  p.insert(1, 100)
  t.equal(p.evict(), 1)
  t.equal(p.evict(), undefined)
})
