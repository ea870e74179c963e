/**
 * MetadataStore over the listing manifest kept on disk (persistent-listing-manifest.ts),
 * with a fake clock: a store re-created on the same cache directory (a remount) lists
 * nothing again within the TTL, lists again per directory once it passed, never with an
 * indefinite TTL; writes through the mount and `refresh` remove what they touch; a torn
 * tail is cut off; the bounds hold and compaction keeps the file small.
 */
import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { MetadataStore, type ListingManifest, type SharedListing } from '../../src/metadata/metadata-store.js'
import { PersistentListingManifest, type PersistentManifestConfig } from '../../src/metadata/persistent-listing-manifest.js'
import { TieredListingManifest } from '../../src/metadata/tiered-listing-manifest.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import { MeteredClient } from '../../src/s3/metered-client.js'
import { RequestMetrics } from '../../src/s3/request-metrics.js'

const log = pino({ level: 'silent' })

async function setup(t: Test, ttlMs = 60_000, bounds: Partial<PersistentManifestConfig> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-manifest-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const clock = { now: 1_000_000 }
  const now = () => clock.now
  const store = new MemoryObjectClient()
  const config: PersistentManifestConfig = { dir, source: 's3://b/@local', maxBytes: 1 << 30, maxDirectories: 1000, ...bounds }
  const open = () => PersistentListingManifest.open(config, now, log)
  /** One mount: a fresh MetadataStore over a freshly opened manifest. */
  const mount = async () => {
    const manifest = await open()
    const metrics = new RequestMetrics()
    const md = new MetadataStore(
      { ttlMs, negativeTtlMs: 5_000, maxEntries: 10_000, maxListedChildren: 10_000 },
      new MeteredClient(store, metrics),
      now,
      log,
      manifest,
    )
    const count = (k: 'list' | 'head') => metrics.snapshot().byKind[k].count
    return { md, manifest, lists: () => count('list'), heads: () => count('head') }
  }
  return { dir, clock, store, mount, open, config }
}

/** Visits every directory, as `find` does. */
async function walk(md: MetadataStore, path = '/'): Promise<number> {
  let n = 0
  for (const [name, e] of (await md.readdir(path)).children) {
    n++
    if (e.kind === 'dir') n += await walk(md, path === '/' ? `/${name}` : `${path}/${name}`)
  }
  return n
}

function fill(store: MemoryObjectClient): void {
  for (let d = 0; d < 5; d++) for (let f = 0; f < 20; f++) store.put(`train/c${d}/f${f}.jpg`, `x${d}.${f}`)
  store.put('README', 'r')
}

t.test('a re-created store (a remount) walks the tree with no LIST and no HEAD within the TTL', async t => {
  const { clock, store, mount } = await setup(t)
  fill(store)
  const a = await mount()
  t.equal(await walk(a.md), 2 + 5 + 100)
  t.ok(a.lists() >= 7)
  await a.manifest.close()
  clock.now += 30_000
  const b = await mount()
  t.equal(await walk(b.md), 107, 'the same tree')
  t.equal((await b.md.lookup('/train/c3/f7.jpg')).kind, 'file')
  t.equal(b.lists(), 0, 'no LIST')
  t.equal(b.heads(), 0, 'no HEAD')
  t.equal(b.manifest.stats().directories, 7)
  await b.manifest.close()
})

t.test('past the TTL, each directory is listed again when visited, once', async t => {
  const { clock, store, mount } = await setup(t)
  fill(store)
  const a = await mount()
  await walk(a.md)
  await a.manifest.close()
  clock.now += 61_000
  store.put('train/c0/new.jpg', 'n')
  const b = await mount()
  t.equal(b.manifest.stats().directories, 0, 'expired records are not indexed at open')
  t.equal((await b.md.readdir('/train/c0')).children.size, 21, 'the new object is seen')
  t.ok(b.lists() >= 1 && b.lists() <= 3, `only the path to the visited directory was listed (${b.lists()} LISTs)`)
  await b.manifest.close()
  clock.now += 1_000
  const c = await mount()
  await walk(c.md)
  t.ok(c.lists() <= 6, `the directories listed by the previous mount were not listed again (${c.lists()} LISTs)`)
  await c.manifest.close()
})

t.test('an indefinite TTL keeps listings across any time', async t => {
  const { clock, store, mount } = await setup(t, Infinity)
  fill(store)
  const a = await mount()
  await walk(a.md)
  await a.manifest.close()
  clock.now += 365 * 24 * 3600 * 1000
  const b = await mount()
  t.equal(await walk(b.md), 107)
  t.equal(b.lists() + b.heads(), 0)
  await b.manifest.close()
})

t.test('writes through the mount and refresh remove the listings they touch, on disk too', async t => {
  const { store, mount } = await setup(t)
  fill(store)
  const a = await mount()
  await walk(a.md)
  a.md.noteFile('/train/c1/g.jpg', { key: 'train/c1/g.jpg', size: 1, etag: 'e', mtimeMs: 0 })
  a.md.invalidatePrefix('/train/c4')
  await a.manifest.close()
  const b = await mount()
  t.equal(b.manifest.stats().directories, 3, 'left: /train/c0, c2, c3')
  t.equal(await b.manifest.get('/train/c1'), undefined)
  t.equal(await b.manifest.get('/'), undefined, 'ancestors of the write')
  t.equal(await b.manifest.get('/train/c4'), undefined, 'refreshed')
  t.equal((await b.manifest.get('/train/c2'))?.children.length, 20)
  await b.manifest.close()
})

t.test('a torn tail is cut off; the records before it still answer', async t => {
  const { store, mount, dir } = await setup(t)
  fill(store)
  const a = await mount()
  await walk(a.md)
  await a.manifest.close()
  const file = join(dir, (await import('node:fs/promises').then(fs => fs.readdir(dir)))[0] as string)
  const before = (await stat(file)).size
  await appendFile(file, '{"p":"/train/c9","t":1,"x":null,"n":5000,"c":1}\t[["tor')
  const b = await mount()
  t.equal(b.manifest.stats().directories, 7)
  t.equal((await stat(file)).size, before, 'file cut back to its last whole record')
  t.equal(await walk(b.md), 107)
  t.equal(b.lists(), 0)
  await b.manifest.close()
})

t.test('bounded in directories and bytes; compaction drops dead records', async t => {
  const { clock, open } = await setup(t, 60_000, { maxDirectories: 3 })
  const m = await open()
  const listing = (n: number): SharedListing => ({
    listedAtMs: clock.now,
    children: Array.from({ length: n }, (_, i) => [`f${i}`, { kind: 'file', key: `k${i}`, size: i, etag: 'e'.repeat(32), mtimeMs: 0 }] as const),
  })
  for (let i = 0; i < 5; i++) m.put(`/d${i}`, listing(10), 60_000)
  // 600 rewrites of one 1,000-child listing (~60 KB each): ~36 MB written, mostly dead.
  for (let i = 0; i < 600; i++) m.put('/big', listing(1000), 60_000)
  await m.close()
  const s = m.stats()
  t.equal(s.directories, 3, 'at most maxDirectories')
  t.ok(s.compactions >= 1, `compacted ${s.compactions} times`)
  t.ok(s.fileBytes < 12 * 1024 * 1024, `file ${s.fileBytes} bytes`)
  const again = await open()
  t.same([...(await Promise.all(['/d3', '/d4', '/big'].map(async p => (await again.get(p))?.children.length)))], [10, 10, 1000])
  t.equal(await again.get('/d0'), undefined, 'the oldest went first')
  await again.close()
})

t.test('local first, then the shared manifest, which fills the local one', async t => {
  const { clock, open } = await setup(t)
  const local = await open()
  const stored = new Map<string, SharedListing>()
  const remote: ListingManifest = {
    get: async p => stored.get(p),
    put: (p, l) => {
      stored.set(p, l)
    },
    forget: ps => {
      for (const p of ps) stored.delete(p)
    },
  }
  const tiered = new TieredListingManifest(local, remote, 60_000)
  stored.set('/r', { listedAtMs: clock.now, children: [['x', { kind: 'dir', prefix: 'r/x/', mtimeMs: 0 }]] })
  t.equal((await tiered.get('/r'))?.children.length, 1, 'from the shared one')
  await local.close()
  const reopened = await open()
  t.equal((await reopened.get('/r'))?.children.length, 1, 'and now on local disk')
  await reopened.close()
})
