/**
 * The operator commands below the control socket, over the in-memory store:
 * preload through the BlockReader (no GET afterwards; concurrent reads share its
 * fetches), refusal of a load larger than the cache, pins (kept under eviction
 * pressure and across a reopen of the cache, refused beyond the cache size),
 * free, TTLs, and metadata refresh.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { blockFileBytes } from '../../src/cache/block-file-format.js'
import type { BlockReader } from '../../src/cache/block-reader.js'
import { type DiskBlockCache, objectIdOf } from '../../src/cache/disk-block-cache.js'
import { buildFilesystem } from '../../src/daemon/build-filesystem.js'
import type { MetadataStore } from '../../src/metadata/metadata-store.js'
import { CacheOps } from '../../src/ops/cache-ops.js'
import { LoadJobs, type LoadJobStatus } from '../../src/ops/load-jobs.js'
import { MetadataRefresher } from '../../src/ops/metadata-refresher.js'
import { composeClient } from '../../src/s3/client-stack.js'
import type { FaultInjectingClient } from '../../src/s3/fault-injecting-client.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import { testSetup } from './harness.js'

const MiB = 1024 * 1024
const log = pino({ level: 'silent' })

interface Rig {
  store: MemoryObjectClient
  faults: FaultInjectingClient
  disk: DiskBlockCache
  reader: BlockReader
  metadata: MetadataStore
  loads: LoadJobs
  ops: CacheOps
  gets(): number
  /** A fresh reader (empty memory) and a reopened disk cache on the same directory. */
  reopen(): Promise<Rig>
}

async function rig(t: Test, opts: { cacheBytes?: number; dir?: string; store?: MemoryObjectClient; ttlMs?: number; clock?: () => number } = {}): Promise<Rig> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 's3cachefs-ops-')))
  const store = opts.store ?? new MemoryObjectClient()
  const { client, metrics, faults } = composeClient(store, { injectFaults: true })
  const setup = testSetup(dir, {
    cacheBytes: opts.cacheBytes ?? 64 * MiB,
    metadata: { maxEntries: 10_000, maxListedChildren: 10_000 },
    ...(opts.ttlMs !== undefined ? { diskTtlMs: opts.ttlMs } : {}),
  })
  const { disk, reader, metadata } = await buildFilesystem(setup, { client, log, clock: opts.clock ?? Date.now })
  t.teardown(async () => {
    await disk.close()
    // A reopened cache on the same directory may still be compacting its catalog: retry.
    if (opts.dir === undefined) await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  })
  const r: Rig = {
    store,
    faults: faults as FaultInjectingClient,
    disk,
    reader,
    metadata,
    loads: new LoadJobs({ listConcurrency: 4, jobsKept: 5 }, metadata, reader, disk, log),
    ops: new CacheOps(metadata, disk, 4, log),
    gets: () => metrics.snapshot().byKind.get.count,
    reopen: async () => {
      await disk.close()
      const again = await rig(t, { ...opts, dir, store })
      while (!again.disk.stats().indexReady) await new Promise(res => setTimeout(res, 5))
      return again
    },
  }
  return r
}

async function finished(loads: LoadJobs, id: number): Promise<LoadJobStatus> {
  for (;;) {
    const job = loads.list().find(j => j.id === id) as LoadJobStatus
    if (job.state === 'done' || job.state === 'failed') return job
    await new Promise(r => setTimeout(r, 5))
  }
}

async function readAll(r: Rig, key: string): Promise<Buffer> {
  const info = await r.store.head(key)
  return r.reader.read({ key, etag: info.etag, size: info.size }, 0, info.size)
}

function fill(store: MemoryObjectClient): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 10; i++) files.set(`a/small-${i}.jpg`, randomBytes(200_000 + i))
  files.set('a/sub/shard.tar', randomBytes(10 * MiB + 123))
  for (const [k, v] of files) store.put(k, v)
  return files
}

t.test('preload, then reads cost no GET, even with an empty memory cache', async t => {
  const r = await rig(t)
  const files = fill(r.store)
  const job = await finished(r.loads, r.loads.start(['/a'], 4).id)
  t.equal(job.state, 'done')
  t.equal(job.files, 11)
  t.equal(
    job.bytesDone,
    [...files.values()].reduce((s, b) => s + b.length, 0),
    'bytes done = bytes listed',
  )
  t.equal(r.gets(), 10 + 3, 'one GET per small file, one per 4 MiB part of the shard')
  const again = await r.reopen()
  for (const [k, v] of files) t.ok((await readAll(again, k)).equals(v), k)
  t.equal(again.gets(), 0, 'no GET after the load')
})

t.test('a load running beside readers fetches each block once', async t => {
  const r = await rig(t)
  const files = fill(r.store)
  r.faults.inject({ op: 'get', remaining: Infinity, delayMs: 30 })
  const { id } = r.loads.start(['/'], 4)
  const reads = [...files].map(async ([k, v]) => t.ok((await readAll(r, k)).equals(v), `read ${k}`))
  await Promise.all([...reads, finished(r.loads, id)])
  t.equal(r.gets(), 13, 'the same 13 GETs as the load alone')
})

t.test('a load larger than the cache is refused before any GET', async t => {
  const r = await rig(t, { cacheBytes: 16 * MiB })
  r.store.put('big/x.bin', randomBytes(20 * MiB))
  const job = await finished(r.loads, r.loads.start(['/big'], 4).id)
  t.equal(job.state, 'failed')
  t.match(job.error, /holds 20\.0 MiB in 1 files: more than the cache can hold \(--cache-size 16\.0 MiB, 0 B of it pinned, 16\.0 MiB available\)/)
  t.equal(r.gets(), 0)
})

t.test('pins: kept under eviction pressure and across a reopen; refused beyond the cache size', async t => {
  const r = await rig(t, { cacheBytes: 16 * MiB })
  const pinned = [randomBytes(3 * MiB), randomBytes(3 * MiB)]
  pinned.forEach((b, i) => r.store.put(`p/${i}.bin`, b))
  for (let i = 0; i < 12; i++) r.store.put(`other/${i}.bin`, randomBytes(2 * MiB))
  const report = await r.ops.pin(['/p'])
  t.same(
    report.pinned.map(p => [p.path, p.bytes, p.files]),
    [['/p', 6 * MiB, 2]],
  )
  await finished(r.loads, r.loads.start(['/p'], 2).id)
  t.ok(r.disk.stats().pinnedBytes >= 6 * MiB, 'loaded blocks are pinned')
  for (let i = 0; i < 12; i++) await readAll(r, `other/${i}.bin`)
  await r.disk.drain()
  t.ok(r.disk.stats().evictedBlocks > 0, 'eviction happened')
  t.ok(r.disk.stats().usedBytes <= 16 * MiB)
  const again = await r.reopen()
  t.ok(again.disk.stats().pinnedBytes >= 6 * MiB, 'pins come back with the cache')
  for (const [i, b] of pinned.entries()) t.ok((await readAll(again, `p/${i}.bin`)).equals(b))
  t.equal(again.gets(), 0, 'pinned data read from disk after eviction pressure and a reopen')
  await t.rejects(again.ops.pin(['/other']), {
    code: 'CACHE_CAPACITY',
    message: /cannot pin \/other: 24\.0 MiB in 12 files plus 6\.0 MiB already pinned exceeds the cache size/,
  })
  const un = await again.ops.unpin(['/p'])
  t.same(
    un.unpinned.map(u => u.path),
    ['/p'],
  )
  t.equal(again.disk.stats().pinnedBytes, 0)
})

t.test('free drops cached data (pinned only with force) and memory with it', async t => {
  const r = await rig(t)
  fill(r.store)
  await finished(r.loads, r.loads.start(['/a'], 4).id)
  await r.ops.pin(['/a/sub'])
  const gets = r.gets()
  const freed = await r.ops.free(['/a'], false)
  t.equal(freed.files, 10, 'the small files')
  t.equal(freed.pinnedKeptBytes, 10 * blockFileBytes(MiB) + blockFileBytes(123), 'the pinned shard stays (data plus block headers)')
  await readAll(r, 'a/small-3.jpg')
  t.equal(r.gets(), gets + 1, 'freed data is fetched again')
  const forced = await r.ops.free(['/a/sub/shard.tar'], true)
  t.equal(forced.files, 1)
  t.equal(r.disk.stats().pinnedBytes, 0)
})

t.test('TTL: expired blocks are dropped on access and by the sweep', async t => {
  let now = Date.now()
  const r = await rig(t, { ttlMs: 150, clock: () => now })
  r.store.put('t/a.bin', randomBytes(1000))
  r.store.put('t/b.bin', randomBytes(1000))
  await readAll(r, 't/a.bin')
  await readAll(r, 't/b.bin')
  await r.disk.drain()
  now += 149
  await readAll(r, 't/a.bin')
  t.equal(r.gets(), 2, 'a block within its TTL is served from memory')
  now += 51
  await readAll(r, 't/a.bin')
  t.equal(r.gets(), 3, 'an expired block is a miss, even from memory')
  await r.disk.drain()
  const report = await r.ops.setTtl('/t', 60_000)
  t.equal(report.droppedBlocks, 0, 'a longer per-path TTL keeps b')
  const swept = await r.ops.setTtl('/t/b.bin', 100)
  t.equal(swept.droppedBlocks, 1, 'a shorter one drops it at once')
  t.equal(r.disk.stats().ttlDroppedBlocks, 2)
})

t.test('refresh sees an object added out of band before the metadata TTL', async t => {
  const r = await rig(t)
  r.store.put('d/one.txt', '1')
  t.same([...(await r.metadata.readdir('/d')).children.keys()], ['one.txt'])
  r.store.put('d/two.txt', '2')
  r.store.put('e/three.txt', '3')
  t.same([...(await r.metadata.readdir('/d')).children.keys()], ['one.txt'], 'cached listing')
  const refresher = new MetadataRefresher(r.metadata, 4, log)
  const rep = await refresher.refresh('/')
  t.same([...(await r.metadata.readdir('/d')).children.keys()], ['one.txt', 'two.txt'])
  t.same([...(await r.metadata.readdir('/')).children.keys()], ['d', 'e'])
  t.equal(rep.directories, 2)
})

t.test('objectIdOf is what the reader uses (catalog and reader agree)', async t => {
  t.equal(objectIdOf('test', 'k', 'e', MiB).length, 40)
})
