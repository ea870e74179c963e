/**
 * MetadataStore with a shared listing manifest (two stores stand for two nodes, an
 * in-memory manifest for Redis, a fake clock): the second node sends no LIST, trusts
 * a shared listing only for what is left of its TTL, looks past one older than the
 * negative TTL for a name it lacks, and writes through a mount remove what they touch.
 */
import { pino } from 'pino'
import t from 'tap'
import { type ListingManifest, MetadataStore, type SharedListing } from '../../src/metadata/metadata-store.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import { MeteredClient } from '../../src/s3/metered-client.js'
import { RequestMetrics } from '../../src/s3/request-metrics.js'

const log = pino({ level: 'silent' })
const config = { ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 10_000, maxListedChildren: 10_000 }

function setup() {
  const clock = { now: 1_000_000 }
  const now = () => clock.now
  const stored = new Map<string, { listing: SharedListing; expiresMs: number }>()
  const manifest: ListingManifest = {
    get: async path => {
      const e = stored.get(path)
      return e !== undefined && e.expiresMs > clock.now ? e.listing : undefined
    },
    put: (path, listing, ttlMs) => {
      stored.set(path, { listing, expiresMs: listing.listedAtMs + ttlMs })
    },
    forget: paths => {
      for (const p of paths) stored.delete(p)
    },
  }
  const store = new MemoryObjectClient()
  const node = () => {
    const metrics = new RequestMetrics()
    const md = new MetadataStore(config, new MeteredClient(store, metrics), now, log, manifest)
    return { md, lists: () => metrics.snapshot().byKind.list.count, heads: () => metrics.snapshot().byKind.head.count }
  }
  return { clock, stored, store, a: node(), b: node() }
}

t.test('the second node lists nothing, and trusts the listing for what is left of its TTL', async t => {
  const { clock, store, a, b } = setup()
  for (let i = 0; i < 30; i++) store.put(`d/f${i}`, `x${i}`)
  t.equal((await a.md.readdir('/d')).children.size, 30)
  t.ok(a.lists() > 0)
  clock.now += 50_000
  t.equal((await b.md.readdir('/d')).children.size, 30)
  t.equal(b.lists(), 0, 'no LIST for node B')
  t.equal((await b.md.lookup('/d/f7')).kind, 'file', 'its entries answer lookups')
  t.equal(b.heads(), 0)
  clock.now += 11_000 // past A's TTL: B's copy expired too
  store.put('d/new', 'n')
  t.equal((await b.md.readdir('/d')).children.size, 31, 'B lists again and sees the new object')
  t.ok(b.lists() > 0)
})

t.test('a name absent from a shared listing older than the negative TTL is looked up for real', async t => {
  const { clock, store, a, b } = setup()
  store.put('d/old', 'o')
  await a.md.readdir('/d')
  clock.now += 10_000
  store.put('d/added', 'a')
  t.equal((await b.md.lookup('/d/added')).kind, 'file', 'found although the shared listing lacks it')
})

t.test('writes through a mount remove the listings they touch', async t => {
  const { stored, store, a } = setup()
  store.put('d/e/f', 'x')
  await a.md.readdir('/')
  await a.md.readdir('/d')
  await a.md.readdir('/d/e')
  t.same([...stored.keys()].sort(), ['/', '/d', '/d/e'])
  a.md.noteFile('/d/e/g', { key: 'd/e/g', size: 1, etag: 'e', mtimeMs: 0 })
  t.same([...stored.keys()], [], 'the parent and every ancestor forgotten')
})
