/**
 * SharedTier without a mount, over the in-memory client and the fault-injecting
 * wrapper: the block object format (any mismatch is a miss), keys per version,
 * a slow or failing tier is a bounded miss, writes are dropped under pressure,
 * and leases make a second node wait for the first instead of the origin.
 */
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { decodeSharedBlock, encodeSharedBlock } from '../../src/cache/shared-block-format.js'
import { type BlockLeases, SharedTier, type SharedTierConfig } from '../../src/cache/shared-tier.js'
import { NetworkError } from '../../src/errors.js'
import { FaultInjectingClient } from '../../src/s3/fault-injecting-client.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'

const log = pino({ level: 'silent' })
const config: SharedTierConfig = {
  sourceBucket: 'src',
  sourcePrefix: 'p/',
  blockSize: 1024,
  maxObjectBytes: 10_000,
  timeoutMs: 200,
  readConcurrency: 4,
  writeConcurrency: 1,
  maxQueuedWrites: 2,
  leaseMs: 1000,
  leasePollMs: 5,
}
const obj = { key: 'a.bin', etag: 'e1', size: 2500 }

t.test('block objects: exact identity, checksum, length', async t => {
  const data = randomBytes(100)
  const id = { bucket: 'b', key: 'k', etag: 'e', index: 3, offset: 3072, length: 100 }
  t.same(decodeSharedBlock(encodeSharedBlock(id, data), id), data)
  for (const [field, v] of [
    ['bucket', 'x'],
    ['key', 'x'],
    ['etag', 'x'],
    ['index', 4],
    ['offset', 0],
    ['length', 99],
  ] as const) {
    t.throws(() => decodeSharedBlock(encodeSharedBlock(id, data), { ...id, [field]: v }), { name: 'SharedBlockMismatch' }, `${field} mismatch`)
  }
  const flipped = encodeSharedBlock(id, data)
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1
  t.throws(() => decodeSharedBlock(flipped, id), /checksum/)
  t.throws(() => decodeSharedBlock(randomBytes(300), id), { name: 'SharedBlockMismatch' }, 'garbage')
  t.throws(() => decodeSharedBlock(encodeSharedBlock(id, data).subarray(0, 50), id), { name: 'SharedBlockMismatch' }, 'torn')
})

t.test('store then lookup; another version is another key', async t => {
  const tier = new SharedTier(config, new MemoryObjectClient(), undefined, log)
  const block = randomBytes(1024)
  t.equal(await tier.lookup(obj, 0), undefined, 'cold miss')
  t.ok(await tier.store(obj, 0, block))
  t.same(await tier.lookup(obj, 0), block)
  t.not(tier.keyOf(obj, 0), tier.keyOf({ ...obj, etag: 'e2' }, 0))
  t.equal(await tier.lookup({ ...obj, etag: 'e2' }, 0), undefined, 'the new version misses')
  t.equal(await tier.lookup({ ...obj, size: 20_000 }, 0), undefined, 'over the size cap: never looked up')
  t.match(tier.stats(), { hits: 1, misses: 2, writes: 1 })
})

t.test('a failing or slow tier is a bounded miss', async t => {
  const faults = new FaultInjectingClient(new MemoryObjectClient())
  const tier = new SharedTier(config, faults, undefined, log)
  await tier.store(obj, 0, randomBytes(1024))
  faults.inject({ op: 'get', remaining: 1, error: () => new NetworkError('reset') })
  t.equal(await tier.lookup(obj, 0), undefined, 'error → miss')
  faults.inject({ op: 'get', remaining: 1, delayMs: 2000 })
  const t0 = Date.now()
  t.equal(await tier.lookup(obj, 0), undefined, 'slow → miss')
  t.ok(Date.now() - t0 < 1000, 'within the timeout')
  t.equal(tier.stats().errors, 2)
})

t.test('offers beyond the write queue are dropped, never awaited', async t => {
  const faults = new FaultInjectingClient(new MemoryObjectClient())
  faults.inject({ op: 'upload', remaining: 2, delayMs: 100 })
  const tier = new SharedTier(config, faults, undefined, log)
  for (let i = 0; i < 3; i++) tier.offer(obj, i % 3, randomBytes(i === 2 ? 452 : 1024))
  for (let i = 0; i < 5; i++) tier.offer({ ...obj, key: `o${i}` }, 0, randomBytes(1024))
  t.ok(tier.stats().writesDropped >= 4, `dropped ${tier.stats().writesDropped}`)
  await tier.drain()
  t.ok(tier.stats().writes >= 2)
})

/** Leases of one in-memory "Redis" shared by two tiers. */
function memoryLeases(): BlockLeases {
  const m = new Map<string, string>()
  return {
    claim: async name => {
      if (m.has(name)) return m.get(name) as 'fetching' | 'done'
      m.set(name, 'fetching')
      return 'claimed'
    },
    state: async name => (m.get(name) as 'fetching' | 'done' | undefined) ?? 'none',
    markDone: async name => {
      m.set(name, 'done')
    },
    drop: async name => {
      m.delete(name)
    },
  }
}

t.test('with leases, the second node waits for the first and reads the tier', async t => {
  const store = new MemoryObjectClient()
  const leases = memoryLeases()
  const a = new SharedTier(config, store, leases, log)
  const b = new SharedTier(config, store, leases, log)
  const block = randomBytes(1024)
  t.equal(await a.lookup(obj, 0), undefined, 'A misses and takes the lease')
  const waiting = b.lookup(obj, 0)
  await new Promise(r => setTimeout(r, 30))
  a.offer(obj, 0, block) // A's origin fetch arrives
  t.same(await waiting, block, 'B got the block from the tier')
  t.match(b.stats(), { leaseWaits: 1, leaseWaitHits: 1 })
  // A holder that fails drops its lease: the waiter goes to the origin at once.
  t.equal(await a.lookup(obj, 1), undefined)
  const waiting2 = b.lookup(obj, 1)
  await leases.drop(`lease:${a.keyOf(obj, 1)}`)
  t.equal(await waiting2, undefined, 'a dropped lease: B fetches itself')
})
