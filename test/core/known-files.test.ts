/**
 * The files the core lets the FUSE binding answer itself (known-files.ts): what it
 * publishes, and that the binding's copy never outlives the core's own answer. A model of
 * the binding's table (the C code's rules: per-path entries, a generation per parent
 * directory, one for everything, an expiry on the harness clock) stands in for it; after
 * every kind of change through the core, and after TTLs run out, whatever the model would
 * still answer for a path must be exactly what `getattr` answers now, and a path being
 * written must not be answered at all. The binding itself is proven through a real mount
 * (test/mount/known-files.test.ts).
 */
import t, { type Test } from 'tap'
import type { FileStat } from '../../src/fuse/file-stat.js'
import { type KnownBlocks, KnownFiles, type KnownFilesTable, NATIVE_FH_BASE } from '../../src/fuse/known-files.js'
import { parentOf } from '../../src/metadata/paths.js'
import { NO_DIRECT_READS } from '../../src/fuse/open-files.js'
import { type Harness, makeHarness } from './harness.js'

interface Published {
  stat: FileStat
  untilMs: number
  blocks: KnownBlocks | undefined
  dirGen: number
  allGen: number
}

class TableModel implements KnownFilesTable {
  readonly entries = new Map<string, Published>()
  readonly dirGens = new Map<string, number>()
  allGen = 0
  readonly registered = new Map<number, string>()
  constructor(readonly clock: { now: number }) {}

  set(path: string, stat: FileStat, ttlMs: number, blocks: KnownBlocks | undefined): boolean {
    this.entries.set(path, { stat, untilMs: this.clock.now + ttlMs, blocks, dirGen: this.dirGens.get(parentOf(path)) ?? 0, allGen: this.allGen })
    return true
  }
  clear(path: string): void {
    this.entries.delete(path)
  }
  clearDir(dir: string): void {
    this.dirGens.set(dir, (this.dirGens.get(dir) ?? 0) + 1)
  }
  clearAll(): void {
    this.allGen++
  }
  takeOpened(): string[] {
    return []
  }
  handleOf(fh: number): { prefix: string; size: number } | undefined {
    const prefix = this.registered.get(fh)
    return prefix === undefined ? undefined : { prefix, size: 11 }
  }
  stats() {
    return { getattrs: 0, opens: 0, openReportsDropped: 0, entries: this.entries.size, openHandles: 0 }
  }
  /** What the binding would answer for `path` now. */
  live(path: string): Published | undefined {
    const e = this.entries.get(path)
    if (e === undefined || e.allGen !== this.allGen || e.dirGen !== (this.dirGens.get(parentOf(path)) ?? 0) || e.untilMs <= this.clock.now) return undefined
    return e
  }
}

async function setup(t: Test, opts: Parameters<typeof makeHarness>[0] = {}): Promise<{ h: Harness; table: TableModel }> {
  const h = await makeHarness(opts)
  t.teardown(() => h.close())
  const table = new TableModel(h.clock)
  const registered = new Map<number, string>()
  h.core.directReads = {
    register: (fh, prefix) => {
      registered.set(fh, prefix)
      return true
    },
    unregister: fh => void registered.delete(fh),
    takeReleased: () => [],
    stats: () => NO_DIRECT_READS,
  }
  h.core.knownFiles = new KnownFiles(table)
  return { h, table }
}

/** The kernel's LOOKUP of each path, as the adapter answers it: from the caches when it can (publishing), else awaited. */
async function lookUp(h: Harness, paths: string[]): Promise<void> {
  for (const p of paths) if (h.core.getattrCached(p) === undefined) await h.core.getattr(p).catch(() => undefined)
  for (const p of paths) h.core.getattrCached(p)
}

/** Whatever the binding would answer for each path is what the core answers now. */
async function agrees(t: Test, h: Harness, table: TableModel, paths: string[], when: string): Promise<void> {
  for (const p of paths) {
    const live = table.live(p)
    if (live === undefined) continue
    const now = await h.core.getattr(p).catch((err: Error) => err.message)
    t.same(live.stat, now, `${when}: ${p} as published is what getattr answers`)
  }
}

async function readWhole(h: Harness, path: string): Promise<void> {
  const fh = await h.core.open(path, 0)
  await h.core.read(fh, 0, 1 << 20)
  await h.core.release(fh)
  await h.disk.drain()
}

t.test('a cached clean file is published with its blocks; a cold one without; directories never', async t => {
  const { h, table } = await setup(t)
  h.store.put('d/a.bin', Buffer.alloc(1000, 1))
  h.store.put('d/b.bin', Buffer.alloc(0))
  await lookUp(h, ['/d', '/d/a.bin', '/d/b.bin'])
  t.equal(table.live('/d'), undefined, 'a directory is not published')
  t.same(table.live('/d/a.bin')?.stat, await h.core.getattr('/d/a.bin'))
  t.equal(table.live('/d/a.bin')?.blocks, undefined, 'not cached yet: the binding may not open it')
  await readWhole(h, '/d/a.bin')
  await lookUp(h, ['/d/a.bin'])
  const blocks = table.live('/d/a.bin')?.blocks
  t.equal(table.live('/d/a.bin')?.stat.size, 1000, 'of the size the binding serves')
  t.equal(blocks?.prefix, h.reader.blockFilePrefix({ key: 'd/a.bin', etag: (await h.store.head('d/a.bin')).etag, size: 1000 }))
  t.equal(table.live('/d/b.bin')?.blocks, undefined, 'an empty file has no blocks to open')
  t.ok((table.live('/d/a.bin')?.untilMs ?? 0) <= h.clock.now + 60_000, 'for no longer than the metadata TTL')
})

t.test('a file the core served is opened by the binding next time, once its blocks are on disk; not if it changed meanwhile', async t => {
  const { h, table } = await setup(t)
  h.store.put('d/a.bin', Buffer.alloc(1000, 1))
  h.store.put('d/b.bin', Buffer.alloc(1000, 2))
  await lookUp(h, ['/d/a.bin', '/d/b.bin'])
  t.equal(table.live('/d/a.bin')?.blocks, undefined, 'cold: lookups only')
  await readWhole(h, '/d/a.bin')
  await new Promise(r => setImmediate(r))
  t.ok(table.live('/d/a.bin')?.blocks, 'published with its blocks after the release, no lookup in between')
  await agrees(t, h, table, ['/d/a.bin'], 'after the release')

  // Released while its block is still being written, then opened for writing before that ends.
  const fh = await h.core.open('/d/b.bin', 0)
  await h.core.read(fh, 0, 1 << 20)
  await h.core.release(fh)
  const writer = await h.core.open('/d/b.bin', 2)
  await h.disk.drain()
  await new Promise(r => setImmediate(r))
  t.equal(table.live('/d/b.bin'), undefined, 'a file being written is not published when its old blocks land')
  await h.core.release(writer)
})

t.test('every change through the core forgets what the binding would answer wrongly', async t => {
  const { h, table } = await setup(t)
  const paths = ['/d/a.bin', '/d/b.bin', '/d/c.bin', '/d/e.bin', '/d/new.bin']
  for (const name of ['a', 'b', 'c', 'e']) h.store.put(`d/${name}.bin`, Buffer.alloc(100, name))
  await lookUp(h, paths)
  t.ok(table.live('/d/a.bin'), 'published')

  // Opened for writing: not answered at all while staged, then the new size.
  const fh = await h.core.open('/d/a.bin', 2)
  t.equal(table.live('/d/a.bin'), undefined, 'a file being written is not answered by the binding')
  await h.core.write(fh, Buffer.alloc(5000, 7), 0)
  await lookUp(h, paths)
  t.equal(table.live('/d/a.bin'), undefined, 'nor republished while staged')
  await h.core.flush(fh)
  await h.core.release(fh)
  await agrees(t, h, table, paths, 'after a write')
  await lookUp(h, paths)
  t.equal(table.live('/d/a.bin')?.stat.size, 5000, 'republished with the new size once uploaded')

  await h.core.chmod('/d/b.bin', 0o600)
  await agrees(t, h, table, paths, 'after chmod')
  await lookUp(h, paths)
  t.equal((table.live('/d/b.bin')?.stat.mode ?? 0) & 0o7777, 0o600)

  await h.core.truncate('/d/c.bin', 7)
  await agrees(t, h, table, paths, 'after truncate')
  await lookUp(h, paths)

  await h.core.rename('/d/c.bin', '/d/new.bin')
  t.equal(table.live('/d/c.bin'), undefined, 'a renamed file is gone from its old path')
  await agrees(t, h, table, paths, 'after rename')
  await lookUp(h, paths)
  await agrees(t, h, table, paths, 'after looking up the renamed file (staged since its truncate: not published)')

  await h.core.unlink('/d/e.bin')
  t.equal(table.live('/d/e.bin'), undefined, 'an unlinked file is gone')
  await agrees(t, h, table, paths, 'after unlink')

  await h.core.utimens('/d/b.bin', 5_000_000, 6_000_000)
  await agrees(t, h, table, paths, 'after utimens')

  const created = await h.core.create('/d/e.bin', 0o644)
  t.equal(table.live('/d/e.bin'), undefined, 'a file being created is not answered')
  await h.core.release(created)
  await agrees(t, h, table, paths, 'after create')
})

t.test('changes in the bucket: answered for no longer than the TTL; a refresh or a relisting forgets at once', async t => {
  const { h, table } = await setup(t, { metadata: { ttlMs: 10_000, negativeTtlMs: 1_000 } })
  const paths = ['/d/a.bin', '/d/b.bin']
  h.store.put('d/a.bin', Buffer.alloc(10))
  h.store.put('d/b.bin', Buffer.alloc(10))
  await lookUp(h, paths)
  h.store.put('d/a.bin', Buffer.alloc(20))
  h.clock.now += 10_001
  t.equal(table.live('/d/a.bin'), undefined, 'expired with the listing that answered it')
  await lookUp(h, paths)
  t.equal(table.live('/d/a.bin')?.stat.size, 20, 'the new version once listed again')

  // A name looked up past the negative TTL lists the directory again: its other entries may have changed.
  h.store.put('d/b.bin', Buffer.alloc(30))
  h.clock.now += 1_001
  await h.core.getattr('/d/missing').catch(() => undefined)
  await agrees(t, h, table, paths, 'after a relisting')
  t.equal(table.live('/d/b.bin'), undefined, 'the relisted directory forgot its children')

  await lookUp(h, paths)
  h.store.put('d/b.bin', Buffer.alloc(40))
  h.metadata.invalidatePrefix('/')
  t.equal(table.live('/d/b.bin'), undefined, 'refresh forgets everything')
})

t.test('a handle the binding opened is adopted on a read it hands back, only for the version it opened', async t => {
  const { h, table } = await setup(t, { metadata: { ttlMs: 10_000 } })
  h.store.put('d/a.bin', Buffer.from('version one'))
  await lookUp(h, ['/d/a.bin'])
  await readWhole(h, '/d/a.bin')
  await lookUp(h, ['/d/a.bin'])
  const prefix = table.live('/d/a.bin')?.blocks?.prefix as string
  t.ok(prefix, 'openable by the binding')
  // The binding's open: a handle of its own range, registered with the published prefix.
  const fh = NATIVE_FH_BASE + 1
  table.registered.set(fh, prefix)
  const buf = Buffer.alloc(100)
  const n = await h.core.readInto(fh, 0, 100, buf, '/d/a.bin')
  t.equal(buf.subarray(0, n).toString(), 'version one', 'adopted and read')
  t.equal((await h.core.fgetattr(fh, '/d/a.bin')).size, 11)
  await h.core.fsync(fh)
  await h.core.flush(fh)
  await h.core.release(fh)

  // Opened, then the object changed in the bucket and its listing expired: the handle's version is gone.
  const stale = NATIVE_FH_BASE + 2
  table.registered.set(stale, prefix)
  h.store.put('d/a.bin', Buffer.from('version two!'))
  h.clock.now += 10_001
  await t.rejects(h.core.readInto(stale, 0, 100, buf, '/d/a.bin'), { code: 'PRECONDITION_FAILED' }, 'ESTALE, never the new bytes under the old handle')
  await t.rejects(h.core.readInto(NATIVE_FH_BASE + 3, 0, 100, buf, '/d/a.bin'), { code: 'BAD_HANDLE' }, 'a handle the binding does not hold is not open')
  t.equal((await h.core.fgetattr(stale, '')).size, 11, "fstat of a file the binding opened and that was unlinked since: its object's size")
  await t.rejects(h.core.fgetattr(NATIVE_FH_BASE + 4, ''), { code: 'BAD_HANDLE' }, 'of a handle the binding does not hold: not open')
})

t.test('while an announced order is followed, the binding answers lookups but leaves opens to the core', async t => {
  const { h, table } = await setup(t)
  for (const name of ['a', 'b']) h.store.put(`d/${name}.bin`, Buffer.alloc(100, name))
  for (const p of ['/d/a.bin', '/d/b.bin']) {
    await lookUp(h, [p])
    await readWhole(h, p)
  }
  await lookUp(h, ['/d/a.bin', '/d/b.bin'])
  t.ok(table.live('/d/a.bin')?.blocks, 'openable by the binding before')
  h.announced.announce(['/d/a.bin', '/d/b.bin'], false)
  t.equal(table.live('/d/a.bin'), undefined, 'an announcement forgets what was published')
  await lookUp(h, ['/d/a.bin', '/d/b.bin'])
  t.ok(table.live('/d/a.bin'), 'lookups are published again')
  t.equal(table.live('/d/a.bin')?.blocks, undefined, 'but not for opening: the order hears each open as it happens')
  for (const p of ['/d/a.bin', '/d/b.bin']) await h.core.release(await h.core.open(p, 0))
  await lookUp(h, ['/d/a.bin'])
  t.ok(table.live('/d/a.bin')?.blocks, 'openable again once the order is read')
})
