/**
 * The disk cache's index snapshot (src/cache/disk/index-snapshot.ts): a clean close
 * writes it and the next start loads it instead of scanning; a start claims it, so a
 * crash afterwards leaves none and the next start scans; a directory changed since it
 * was written makes it stale and it is ignored; a damaged one is ignored; and a block
 * a snapshot still names but whose file is gone is a miss, never served. The crashes at
 * the named points (src/cache/disk/index-crash-points.ts) are real: a child process
 * running the built cache kills itself there (build first: `npm run build`).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, open, readFile, readdir, rm, stat, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { type BlockAddress, DiskBlockCache, objectIdOf } from '../../src/cache/disk-block-cache.js'
import { blockAddress } from '../../src/cache/disk/disk-cache-types.js'

const MiB = 1024 * 1024
const BLOCK = 4096

interface Opened {
  cache: DiskBlockCache
  /** Where the index came from once ready: 'snapshot' or 'scan'. */
  from(): Promise<string>
}

async function openCache(dir: string): Promise<Opened> {
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) })
  const cache = await DiskBlockCache.open({ dir, maxBytes: 64 * MiB, maxPendingWrites: 16, namespace: 'ns', spaceProbe: async () => 1e12 }, log)
  return {
    cache,
    async from() {
      while (!cache.stats().indexReady) await sleep(5)
      const ready = lines.map(l => JSON.parse(l) as { msg: string; from?: string }).find(l => l.msg === 'cache index ready')
      return ready?.from ?? 'none'
    },
  }
}

function addrOf(key: string, index: number): BlockAddress {
  return blockAddress(objectIdOf('ns', key, `"${key}"`, BLOCK), index, key)
}

/** 40 objects, the first 10 of two blocks; returns each block's bytes. */
async function fill(cache: DiskBlockCache): Promise<Map<BlockAddress, Buffer>> {
  const out = new Map<BlockAddress, Buffer>()
  for (let i = 0; i < 40; i++) {
    for (let b = 0; b < (i < 10 ? 2 : 1); b++) {
      const a = addrOf(`d/f${i}.bin`, b)
      const data = randomBytes(100 + i)
      if (!(await cache.persist(a, data))) throw new Error('block not stored')
      out.set(a, data)
    }
  }
  return out
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-snap-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function blockPath(dir: string, a: BlockAddress): string {
  return join(dir, 'blocks', a.objectId.slice(0, 2), `${a.objectId}.${a.index}`)
}

async function readsBack(t: Test, cache: DiskBlockCache, blocks: Map<BlockAddress, Buffer>): Promise<void> {
  let same = 0
  for (const [a, data] of blocks) if ((await cache.read(a, data.length))?.equals(data) === true) same++
  t.equal(same, blocks.size, 'every block reads back')
}

t.test('a clean close writes the snapshot and the next start loads it', async t => {
  const dir = await tempDir(t)
  const a = await openCache(dir)
  t.equal(await a.from(), 'scan', 'a new directory is scanned')
  const blocks = await fill(a.cache)
  const used = a.cache.stats().usedBytes
  await a.cache.close()
  t.ok(existsSync(join(dir, 'index.snapshot')), 'written at close')
  const b = await openCache(dir)
  t.teardown(() => b.cache.close())
  t.notOk(existsSync(join(dir, 'index.snapshot')), 'claimed at open')
  t.equal(await b.from(), 'snapshot')
  t.equal(b.cache.stats().blocks, blocks.size)
  t.equal(b.cache.stats().usedBytes, used)
  t.notOk(existsSync(join(dir, 'index.snapshot.loading')), 'removed once loaded')
  await readsBack(t, b.cache, blocks)
})

t.test('after a crash there is no snapshot: the next start scans, and a block freed meanwhile is not served', async t => {
  const dir = await tempDir(t)
  const a = await openCache(dir)
  const blocks = await fill(a.cache)
  await a.cache.close()
  // The second run claims the snapshot, frees an object, stores another, and dies without closing.
  const b = await openCache(dir)
  t.equal(await b.from(), 'snapshot')
  const [gone] = b.cache.objectsUnder({ ns: b.cache.namespaceId, key: 'd/f3.bin', dir: false, path: '/d/f3.bin' })
  t.ok(gone)
  b.cache.dropObject(gone!, 'freed')
  const goneAddrs = [...blocks.keys()].filter(x => x.objectId === gone!.id)
  t.equal(goneAddrs.length, 2)
  for (const x of goneAddrs) blocks.delete(x)
  while (goneAddrs.some(x => existsSync(blockPath(dir, x)))) await sleep(5)
  const fresh = addrOf('d/new.bin', 0)
  const freshData = randomBytes(300)
  t.ok(await b.cache.persist(fresh, freshData))
  blocks.set(fresh, freshData)
  await b.cache.drain() // writes and catalog done, as a crash may find them; no close, so no snapshot
  t.notOk(existsSync(join(dir, 'index.snapshot')), 'no snapshot after the crash')
  const c = await openCache(dir)
  t.teardown(() => c.cache.close())
  t.equal(await c.from(), 'scan')
  t.equal(c.cache.stats().blocks, blocks.size)
  for (const x of goneAddrs) t.equal(await c.cache.read(x, 100), undefined, 'the freed block is a miss')
  await readsBack(t, c.cache, blocks)
})

t.test('a directory changed since the snapshot was written makes it stale: ignored', async t => {
  const dir = await tempDir(t)
  const a = await openCache(dir)
  const blocks = await fill(a.cache)
  await a.cache.close()
  const [victim] = blocks.keys()
  await unlink(blockPath(dir, victim!))
  blocks.delete(victim!)
  const b = await openCache(dir)
  t.teardown(() => b.cache.close())
  t.equal(await b.from(), 'scan')
  t.equal(b.cache.stats().blocks, blocks.size)
  t.notOk(b.cache.has(victim!))
})

t.test('a damaged snapshot is ignored', async t => {
  const dir = await tempDir(t)
  const a = await openCache(dir)
  const blocks = await fill(a.cache)
  await a.cache.close()
  const path = join(dir, 'index.snapshot')
  const size = (await stat(path)).size
  const fh = await open(path, 'r+')
  await fh.write(Buffer.from([0xff, 0x00, 0xff]), 0, 3, size - 20) // inside the last record
  await fh.close()
  const b = await openCache(dir)
  t.teardown(() => b.cache.close())
  t.equal(await b.from(), 'scan')
  await readsBack(t, b.cache, blocks)
})

t.test('a block a snapshot names but whose file is gone is a miss, never served', async t => {
  const dir = await tempDir(t)
  const a = await openCache(dir)
  const blocks = await fill(a.cache)
  await a.cache.close()
  const [victim] = blocks.keys()
  await unlink(blockPath(dir, victim!))
  blocks.delete(victim!)
  // Make the snapshot agree with the changed directory's mtimes, as if the change had
  // fallen within the filesystem's timestamp granularity: the snapshot is trusted.
  await refreshSnapshotMtimes(dir)
  const b = await openCache(dir)
  t.teardown(() => b.cache.close())
  t.equal(await b.from(), 'snapshot')
  t.equal(b.cache.stats().blocks, blocks.size + 1, 'the index believes the snapshot')
  t.equal(await b.cache.read(victim!, 100), undefined, 'the missing file reads as a miss')
  t.notOk(b.cache.has(victim!), 'and leaves the index')
  t.equal(b.cache.stats().blocks, blocks.size)
  await readsBack(t, b.cache, blocks)
})

/** Rewrites the directory list of the snapshot with the directories' current mtimes (same length). */
async function refreshSnapshotMtimes(dir: string): Promise<void> {
  const path = join(dir, 'index.snapshot')
  const file = await readFile(path)
  const length = file.readUInt32LE(16)
  const blocksDir = join(dir, 'blocks')
  const now: Record<string, string> = { '.': (await stat(blocksDir, { bigint: true })).mtimeNs.toString() }
  for (const s of (await readdir(blocksDir)).sort()) now[s] = (await stat(join(blocksDir, s), { bigint: true })).mtimeNs.toString()
  const json = Buffer.from(JSON.stringify(now))
  if (json.length !== length) throw new Error('mtime list changed length')
  json.copy(file, 32)
  const fh = await open(path, 'r+')
  await fh.write(file, 0, file.length, 0)
  await fh.close()
}

/** In a child process of the built product: opens the cache, stores `keys` (one block each), closes it. */
function childRun(dir: string, keys: string[], crashAt?: string): { signal: NodeJS.Signals | null; status: number | null } {
  const dist = (p: string): string => pathToFileURL(resolve('dist', p)).href
  const script = `
    import { DiskBlockCache, objectIdOf } from '${dist('cache/disk-block-cache.js')}'
    import { blockAddress } from '${dist('cache/disk/disk-cache-types.js')}'
    import { pino } from 'pino'
    const [dir, ...keys] = process.argv.slice(1)
    const cache = await DiskBlockCache.open({ dir, maxBytes: 64 * 2 ** 20, maxPendingWrites: 16, namespace: 'ns', spaceProbe: async () => 1e12 }, pino({ level: 'silent' }))
    while (!cache.stats().indexReady) await new Promise(r => setTimeout(r, 5))
    for (const key of keys) await cache.persist(blockAddress(objectIdOf('ns', key, '"' + key + '"', ${BLOCK}), 0, key), Buffer.alloc(100, 1))
    await cache.close()
  `
  const env = { ...process.env, S3CACHEFS_CRASH_AT: crashAt ?? '' }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir, ...keys], { env, encoding: 'utf8', cwd: process.cwd() })
  if (r.status !== 0 && r.signal === null) throw new Error(`child failed: ${r.stderr}`)
  return { signal: r.signal, status: r.status }
}

t.test('killed at a named point: after claiming the snapshot, or before renaming a new one, the next start scans', async t => {
  const dir = await tempDir(t)
  t.equal(childRun(dir, ['c/a', 'c/b']).status, 0)
  t.ok(existsSync(join(dir, 'index.snapshot')), 'a clean close wrote it')
  t.equal(childRun(dir, ['c/never'], 'after-index-snapshot-claim').signal, 'SIGKILL')
  t.notOk(existsSync(join(dir, 'index.snapshot')), 'claimed before the crash')
  const a = await openCache(dir)
  t.equal(await a.from(), 'scan')
  t.notOk(existsSync(join(dir, 'index.snapshot.loading')), 'the claimed file is cleared')
  t.ok(a.cache.has(addrOf('c/a', 0)) && a.cache.has(addrOf('c/b', 0)))
  await a.cache.close()
  t.equal(childRun(dir, ['c/late'], 'after-index-snapshot-temp').signal, 'SIGKILL')
  t.notOk(existsSync(join(dir, 'index.snapshot')), 'never renamed into place')
  t.ok(existsSync(join(dir, 'index.snapshot.tmp')))
  const b = await openCache(dir)
  t.teardown(() => b.cache.close())
  t.equal(await b.from(), 'scan')
  t.notOk(existsSync(join(dir, 'index.snapshot.tmp')), 'the torn temp file is cleared')
  t.ok(b.cache.has(addrOf('c/late', 0)), 'the block stored before the crash is found by the scan')
  t.equal(b.cache.stats().blocks, 3)
})
