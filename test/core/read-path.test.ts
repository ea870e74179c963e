import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { decodeBlock } from '../../src/cache/block-file-format.js'
import { IsADirectoryError, PreconditionFailedError, ReadOnlyError, ThrottledError } from '../../src/errors.js'
import { legacyBlock, version2Block } from '../helpers/legacy-block.js'
import { MiB, makeHarness, readAll } from './harness.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('a small file costs one GET, read in pieces', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(110_000)
  h.store.put('img.jpg', data)
  t.equal(sha(await readAll(h.core, '/img.jpg', 4096)), sha(data))
  t.equal(h.counts().get, 1)
})

t.test('a 3.5 MiB file (≤ whole-object limit) is one GET; a large file uses part-sized GETs', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const small = randomBytes(3.5 * MiB)
  const big = randomBytes(20 * MiB + 123)
  h.store.put('small.bin', small)
  h.store.put('big.bin', big)
  t.equal(sha(await readAll(h.core, '/small.bin')), sha(small))
  t.equal(h.counts().get, 1)
  t.equal(sha(await readAll(h.core, '/big.bin')), sha(big))
  const gets = h.counts().get - 1
  t.ok(gets >= 6 && gets <= 21, `20 MiB in part-sized GETs (${gets})`)
})

t.test('random reads of a large object are byte-exact and fetch only what they touch', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const big = randomBytes(40 * MiB)
  h.store.put('shard.tar', big)
  const fh = await h.core.open('/shard.tar', 0)
  for (let i = 0; i < 50; i++) {
    const off = Math.floor(Math.random() * (big.length - 5000))
    const got = await h.core.read(fh, off, 5000)
    t.ok(got.equals(big.subarray(off, off + 5000)), `read at ${off}`)
  }
  const atEnd = await h.core.read(fh, big.length - 10, 100)
  t.equal(atEnd.length, 10, 'short read at the end')
  t.equal((await h.core.read(fh, big.length + 5, 100)).length, 0, 'empty read past the end')
  t.ok(h.counts().get <= 50, 'no more GETs than reads (no prefetch on random reads)')
})

t.test('concurrent readers of the same object share GETs (single-flight)', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(2 * MiB)
  h.store.put('shared.bin', data)
  const results = await Promise.all(Array.from({ length: 32 }, () => readAll(h.core, '/shared.bin')))
  for (const r of results) t.equal(sha(r), sha(data))
  t.equal(h.counts().get, 1)
})

t.test('remount on the same cache directory reads everything with zero GETs', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const files = Array.from({ length: 20 }, (_, i) => randomBytes(50_000 + i * 1000))
  files.forEach((d, i) => h.store.put(`f/${i}`, d))
  h.store.put('big', randomBytes(10 * MiB))
  for (let i = 0; i < files.length; i++) await readAll(h.core, `/f/${i}`)
  await readAll(h.core, '/big')
  const h2 = await h.remount()
  for (let i = 0; i < files.length; i++) t.equal(sha(await readAll(h2.core, `/f/${i}`)), sha(files[i]!))
  await readAll(h2.core, '/big')
  t.equal(h2.counts().get, 0, 'no GET after remount')
  t.equal(h2.reader.stats().diskHits, 21 + 9, 'all blocks from disk')
})

t.test('a corrupted block is detected and refetched; never served', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(300_000)
  h.store.put('c.bin', data)
  await readAll(h.core, '/c.bin')
  await h.disk.drain()
  const sub = (await readdir(join(h.cacheDir, 'blocks')))[0]!
  const file = join(h.cacheDir, 'blocks', sub, (await readdir(join(h.cacheDir, 'blocks', sub)))[0]!)
  const bytes = await readFile(file)
  bytes[1000]! ^= 0xff
  await writeFile(file, bytes)
  const h2 = await h.remount()
  t.equal(sha(await readAll(h2.core, '/c.bin')), sha(data))
  t.equal(h2.counts().get, 1, 'refetched')
  t.equal(h2.disk.stats().corruptBlocks, 1)
})

/**
 * Reads a 2 MiB + 300,000-byte object into the cache, rewrites its block files as an older
 * release wrote them (`older`: the file for a block's data, or undefined to leave it), remounts
 * and reads it again: byte-exact, with no GET and no block found corrupt.
 */
async function readAfterUpgrade(t: Test, older: (data: Buffer, version: number) => Buffer | undefined, expectRewritten: number): Promise<void> {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(2 * MiB + 300_000)
  h.store.put('old.bin', data)
  await readAll(h.core, '/old.bin')
  await h.disk.drain()
  let rewritten = 0
  for (const sub of await readdir(join(h.cacheDir, 'blocks'))) {
    for (const name of await readdir(join(h.cacheDir, 'blocks', sub))) {
      const path = join(h.cacheDir, 'blocks', sub, name)
      const file = await readFile(path)
      const old = older(decodeBlock(file, file.readUInt32LE(8)), file.readUInt8(4))
      if (old === undefined) continue
      await writeFile(path, old)
      rewritten++
    }
  }
  t.equal(rewritten, expectRewritten)
  const h2 = await h.remount()
  t.equal(sha(await readAll(h2.core, '/old.bin')), sha(data), 'byte-exact')
  t.equal(h2.counts().get, 0, 'no GET: every block read from disk')
  t.equal(h2.disk.stats().corruptBlocks, 0)
}

t.test('a cache written in block format version 1 is still read from disk after an upgrade', async t => {
  // Every block file as version 1 wrote it: a 16-byte header with one CRC-32 of all the data.
  await readAfterUpgrade(t, data => legacyBlock(data), 3)
})

t.test('whole blocks written in block format version 2 (before their data moved to 4096 bytes in) are still read from disk after an upgrade', async t => {
  await readAfterUpgrade(
    t,
    (data, version) => {
      if (data.length !== MiB) return undefined
      t.equal(version, 3, 'a whole block is written in version 3')
      return version2Block(data)
    },
    2,
  )
})

t.test('eviction keeps the disk cache under its bound', async t => {
  const h = await makeHarness({ cacheBytes: 8 * MiB, reader: { memoryCacheBytes: MiB } })
  t.teardown(() => h.close())
  for (let i = 0; i < 40; i++) h.store.put(`e/${i}`, randomBytes(500_000))
  for (let i = 0; i < 40; i++) await readAll(h.core, `/e/${i}`)
  await h.disk.drain()
  const s = h.disk.stats()
  t.ok(s.usedBytes <= 8 * MiB, `used ${s.usedBytes}`)
  t.ok(s.evictedBlocks > 0)
})

t.test('an object changed in the store while open fails with ESTALE, never mixed bytes', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('v.bin', randomBytes(20 * MiB))
  const fh = await h.core.open('/v.bin', 0)
  await h.core.read(fh, 0, 4096)
  h.store.put('v.bin', randomBytes(20 * MiB))
  await t.rejects(h.core.read(fh, 15 * MiB, 4096), PreconditionFailedError)
  h.core.release(fh)
  const fresh = await readAll(h.core, '/v.bin')
  t.equal(fresh.length, 20 * MiB, 'the next open sees the new version')
})

t.test('open refuses directories; a read-only mount refuses writes', async t => {
  const h = await makeHarness({ readOnly: true })
  t.teardown(() => h.close())
  h.store.put('d/x', '1')
  await t.rejects(h.core.open('/d', 0), IsADirectoryError)
  await t.rejects(h.core.open('/d/x', 1), ReadOnlyError)
  await t.rejects(h.core.create('/d/y'), ReadOnlyError)
  await t.rejects(h.core.mkdir('/e'), ReadOnlyError)
})

t.test('a failed GET fails the read; the next read retries', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(1000)
  h.store.put('t.bin', data)
  h.faults.inject({ op: 'get', remaining: 1, error: () => new ThrottledError('slow down') })
  const fh = await h.core.open('/t.bin', 0)
  await t.rejects(h.core.read(fh, 0, 1000), ThrottledError)
  t.ok((await h.core.read(fh, 0, 1000)).equals(data))
})

t.test('zero-byte files read as empty without a GET', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('empty.txt', '')
  t.equal((await readAll(h.core, '/empty.txt')).length, 0)
  t.equal(h.counts().get, 0)
})

t.test('open block files: a block corrupted or evicted while its descriptor is cached is never served', async t => {
  // A memory tier of one byte lending no room to read-ahead, so every read goes to the disk cache and its open descriptors.
  const h = await makeHarness({ cacheBytes: 8 * MiB, reader: { memoryCacheBytes: 1, readAheadBudgetBytes: 0 } })
  t.teardown(() => h.close())
  const data = randomBytes(300_000)
  h.store.put('held.bin', data)
  await readAll(h.core, '/held.bin')
  await h.disk.drain()
  t.equal(sha(await readAll(h.core, '/held.bin')), sha(data), 'read from disk: its descriptor is now cached')
  const sub = (await readdir(join(h.cacheDir, 'blocks')))[0]!
  const file = join(h.cacheDir, 'blocks', sub, (await readdir(join(h.cacheDir, 'blocks', sub)))[0]!)
  const bytes = await readFile(file)
  bytes[2000]! ^= 0xff
  await writeFile(file, bytes) // in place: the cached descriptor sees the damage
  const gets = h.counts().get
  t.equal(sha(await readAll(h.core, '/held.bin')), sha(data), 'the corrupt block was not served')
  t.equal(h.counts().get, gets + 1, 'it was refetched')
  t.equal(h.disk.stats().corruptBlocks, 1)
  await h.disk.drain()
  // Drop it as `free` does (unlink while its descriptor is cached): the next read must miss.
  const [obj] = h.disk.objectsUnder({ ns: h.disk.namespaceId, key: 'held.bin', dir: false, path: '/held.bin' })
  t.ok(obj !== undefined, 'the object is cached')
  h.disk.dropObject(obj!, 'freed')
  const before = h.counts().get
  t.equal(sha(await readAll(h.core, '/held.bin')), sha(data))
  t.equal(h.counts().get, before + 1, 'a dropped block is fetched again, never read through a stale descriptor')
})

t.test('hit ratio in bytes served: a cold read is all fetched, a second read and a loaded file all cached', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('cold.bin', Buffer.alloc(3 * MiB + 5, 1))
  h.store.put('big.bin', Buffer.alloc(20 * MiB + 3, 2))
  h.store.put('loaded.bin', Buffer.alloc(2 * MiB, 3))
  const served = () => {
    const s = h.reader.stats()
    return { cache: s.bytesServedFromCache, store: s.bytesServedFromStore }
  }
  await readAll(h.core, '/cold.bin')
  t.same(served(), { cache: 0, store: 3 * MiB + 5 }, 'a cold read in 128 KiB pieces: every byte fetched for the reader')
  await readAll(h.core, '/cold.bin')
  t.same(served(), { cache: 3 * MiB + 5, store: 3 * MiB + 5 }, 'read again: every byte from the cache')
  const before = served()
  await readAll(h.core, '/big.bin')
  const big = { cache: served().cache - before.cache, store: served().store - before.store }
  t.equal(big.cache + big.store, 20 * MiB + 3)
  t.ok(big.store > 0, `a cold sequential read of a large file: read-ahead it waited for counts as fetched (${big.store} B)`)
  const meta = await h.metadata.lookup('/loaded.bin')
  if (meta.kind !== 'file') throw new Error('not a file')
  await h.reader.preload({ key: meta.key, etag: meta.etag, size: meta.size })
  const mid = served()
  await readAll(h.core, '/loaded.bin')
  t.same({ cache: served().cache - mid.cache, store: served().store - mid.store }, { cache: 2 * MiB, store: 0 }, 'loaded first: all from the cache')
})

t.test('read-ahead does not load blocks already on disk: a window past where its reader stops costs no disk read', async t => {
  const h = await makeHarness({ reader: { memoryCacheBytes: 8 * MiB } })
  t.teardown(() => h.close())
  const data = randomBytes(24 * MiB)
  h.store.put('quarters.bin', data)
  const readRange = async (from: number, to: number): Promise<boolean> => {
    const fh = await h.core.open('/quarters.bin', 0)
    let ok = true
    for (let off = from; off < to; off += 128 * 1024) {
      ok &&= (await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024))
      await new Promise(r => setImmediate(r)) // prefetch runs ahead of a reader that takes its time
    }
    await h.core.release(fh)
    return ok
  }
  // One reader takes the second part onwards (as the second of four readers of a shard would): on disk after.
  t.ok(await readRange(8 * MiB, 24 * MiB), 'the later blocks: byte-exact')
  await h.disk.drain()
  const before = h.reader.stats()
  // Another reads the first part from offset 0: its window reaches into the blocks on disk.
  t.ok(await readRange(0, 8 * MiB), 'the first blocks: byte-exact')
  const after = h.reader.stats()
  t.equal(after.diskHits - before.diskHits, 0, 'no block on disk was read ahead into memory')
  t.equal(after.bytesFromStore, data.length, 'each byte fetched once')
  // A reader of the whole object reads the blocks on disk when it gets there.
  t.ok(await readRange(0, data.length), 'the whole object read afterwards: byte-exact')
  t.ok(h.reader.stats().diskHits - after.diskHits >= 16, 'the blocks on disk served from disk')
  t.equal(h.reader.stats().bytesFromStore, data.length, 'still nothing fetched twice')
})

t.test("a sequential reader's window is asked for as soon as its read's own blocks are, not once they have come", async t => {
  const h = await makeHarness({ reader: { memoryCacheBytes: 8 * MiB } })
  t.teardown(() => h.close())
  const data = randomBytes(24 * MiB)
  h.store.put('window.bin', data)
  let open!: () => void
  const gate = new Promise<void>(resolve => (open = resolve))
  const asked: number[] = []
  const getPieces = h.store.getPieces.bind(h.store)
  h.store.getPieces = async (request, pieceBytes) => {
    asked.push(request.start)
    if (request.start === MiB) await gate // block 1 comes late
    return getPieces(request, pieceBytes)
  }
  const fh = await h.core.open('/window.bin', 0)
  t.ok((await h.core.read(fh, 0, MiB)).equals(data.subarray(0, MiB)), 'block 0')
  const second = h.core.read(fh, MiB, MiB) // waits for block 1
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
  t.ok(
    asked.some(start => start >= 2 * MiB),
    `while the second read waits for its block, the window beyond it is already asked for (GETs from ${asked.map(a => a / MiB).join(', ')} MiB)`,
  )
  open()
  t.ok((await second).equals(data.subarray(MiB, 2 * MiB)), 'block 1, byte-exact')
  await h.core.release(fh)
})

t.test('read-ahead skips a block being written to disk that has left the memory tier: it is read from its file when its reader gets there', async t => {
  const { h, data, version, gate, open, scratch } = await poolChurn(t, 'writing.bin')
  const other = { key: 'other.bin', etag: h.store.put('other.bin', randomBytes(8 * MiB)), size: 8 * MiB }
  // The first block file written (block 5's) waits for the gate: a busy disk. The disk cache knows it is being written.
  let first = true
  h.disk.blockFileListener = {
    drop: () => {},
    written: () => {},
    dropAll: () => {},
    write: async (tmp, dest, header, block) => {
      if (first) {
        first = false
        await gate
      }
      await writeFile(tmp, Buffer.concat([header, block]))
      await rename(tmp, dest)
    },
  }
  await h.reader.readInto(version, 5 * MiB, MiB / 2, scratch)
  for (let i = 0; i < 8; i++) {
    // Blocks of another object through the 2 MiB tier: block 5 leaves it while its write waits.
    await h.reader.readInto(other, i * MiB, MiB / 2, scratch)
    await h.reader.blocksWritten(other)
  }
  const before = h.reader.stats()
  h.reader.prefetch(version, 4 * MiB, 7 * MiB)
  await new Promise(resolve => setImmediate(resolve))
  open()
  // Until every block the prefetch asked for is in (a block read back from its file would count only then).
  for (let i = 0; i < 500 && h.reader.stats().inFlightBlocks > 0; i++) await new Promise(resolve => setTimeout(resolve, 2))
  await h.disk.drain()
  await h.reader.blocksWritten(version)
  const after = h.reader.stats()
  t.equal(after.diskHits - before.diskHits, 0, 'block 5 was not read back from its file into memory by the prefetch')
  t.equal(after.bytesFromStore - before.bytesFromStore, 2 * MiB, 'blocks 4 and 6 fetched, block 5 not again')
  const target = Buffer.alloc(MiB)
  t.equal(await h.reader.readInto(version, 5 * MiB, MiB, target), MiB)
  t.ok(target.equals(data.subarray(5 * MiB, 6 * MiB)), 'block 5, byte-exact, from its file')
  t.equal(h.reader.stats().bytesFromStore, after.bytesFromStore, 'with no GET')
})

t.test('sequential readers of objects larger than the memory tier never read a block back from the disk cache', async t => {
  // 8 MiB of read-ahead for the windows of all readers together, less two blocks each reader keeps behind.
  const h = await makeHarness({ reader: { memoryCacheBytes: 8 * MiB, readAheadBudgetBytes: 8 * MiB } })
  t.teardown(() => h.close())
  const files = [0, 1, 2].map(i => randomBytes(24 * MiB + 1000 * i))
  files.forEach((data, i) => h.store.put(`seq/${i}.bin`, data))
  const read = async (i: number): Promise<void> => {
    const data = files[i] as Buffer
    const fh = await h.core.open(`/seq/${i}.bin`, 0)
    let ok = true
    for (let off = 0; off < data.length; off += 128 * 1024) {
      ok &&= (await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024))
      await new Promise(r => setImmediate(r)) // prefetch runs ahead of a reader that takes its time
    }
    t.ok(ok, `file ${i}: byte-exact`)
    await h.core.release(fh)
  }
  await read(0)
  t.equal(h.reader.stats().diskHits, 0, 'one reader: every block came from memory once fetched')
  const kept = h.reader.memoryUsage().countedBytes
  t.ok(kept <= 2 * MiB, `the blocks it read through left the memory tier (the last two stay: ${kept / MiB} MiB)`)
  await Promise.all([read(1), read(2)])
  t.equal(h.reader.stats().diskHits, 0, 'two readers at once: the same')
  t.equal(
    h.reader.stats().bytesFromStore,
    files.reduce((n, d) => n + d.length, 0),
    'each byte fetched once',
  )
  t.same(h.reader.aheadBudget.usage(), { bytes: 0, readers: 0 }, 'closed readers hold no read-ahead')
})

/** A 2 MiB memory tier and 16 MiB of read-ahead (one reader's window, capped at 8 MiB by the harness, is more than the tier), and a 40 MiB object open. */
async function smallTierWithLongFile(teardown: (fn: () => Promise<void>) => void, key: string) {
  const h = await makeHarness({ reader: { memoryCacheBytes: 2 * MiB, readAheadBudgetBytes: 16 * MiB } })
  teardown(() => h.close())
  const data = randomBytes(40 * MiB)
  h.store.put(key, data)
  return { h, data, fh: await h.core.open(`/${key}`, 0) }
}

t.test('read-ahead windows larger than the memory tier get room of their own: nothing read back, and the tier its own size once they close', async t => {
  const { h, data, fh } = await smallTierWithLongFile(fn => t.teardown(fn), 'long.bin')
  let ok = true
  let peak = 0
  for (let off = 0; off < data.length; off += 128 * 1024) {
    ok &&= (await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024))
    // The reader takes its time: the window's later blocks arrive and wait for it in the tier.
    await new Promise(r => setTimeout(r, 1))
    peak = Math.max(peak, h.reader.memoryUsage().countedBytes)
  }
  t.ok(ok, 'byte-exact')
  t.equal(h.reader.stats().diskHits, 0, 'no block fetched ahead was pushed out of the tier and read back from disk')
  t.ok(peak > 2 * MiB, `the window's blocks waited in room lent beyond the tier (peak ${peak / MiB} MiB)`)
  t.ok(peak <= 12 * MiB, `never more than the tier, the window and the two blocks kept behind it (peak ${peak / MiB} MiB)`)
  t.equal(h.reader.stats().bytesFromStore, data.length, 'each byte fetched once')
  await h.core.release(fh)
  t.same(h.reader.aheadBudget.usage(), { bytes: 0, readers: 0 }, 'the closed reader holds no read-ahead')
  t.ok(h.reader.memoryUsage().countedBytes <= 2 * MiB, `the tier took its lent room back at the close (${h.reader.memoryUsage().countedBytes / MiB} MiB)`)
  for (let i = 0; i < 8; i++) h.store.put(`after/${i}`, randomBytes(MiB))
  for (let i = 0; i < 8; i++) await readAll(h.core, `/after/${i}`)
  t.ok(h.reader.memoryUsage().countedBytes <= 2 * MiB, `with no window open the tier keeps its own size (${h.reader.memoryUsage().countedBytes / MiB} MiB)`)
})

t.test('open small files hold no read-ahead budget (nothing to read ahead), so the memory tier lends them no room', async t => {
  const h = await makeHarness({ reader: { memoryCacheBytes: 2 * MiB, readAheadBudgetBytes: 64 * MiB } })
  t.teardown(() => h.close())
  const small = Array.from({ length: 20 }, (_, i) => randomBytes(110_000 + i))
  small.forEach((d, i) => h.store.put(`img/${i}.jpg`, d))
  const large = randomBytes(24 * MiB) // larger than the harness's whole-object size (4 MiB)
  h.store.put('big.bin', large)
  const handles: number[] = []
  for (let i = 0; i < small.length; i++) {
    const fh = await h.core.open(`/img/${i}.jpg`, 0)
    handles.push(fh)
    t.ok((await h.core.read(fh, 0, 128 * 1024)).equals(small[i] as Buffer), `file ${i}: byte-exact`)
  }
  t.same(h.reader.aheadBudget.usage(), { bytes: 0, readers: 0 }, 'twenty open small files read from offset 0: no window held')
  const big = await h.core.open('/big.bin', 0)
  t.ok((await h.core.read(big, 0, 128 * 1024)).equals(large.subarray(0, 128 * 1024)), 'large file: byte-exact')
  t.equal(h.reader.aheadBudget.usage().readers, 1, 'a large file read from offset 0 holds a window')
  for (const fh of [...handles, big]) await h.core.release(fh)
  t.same(h.reader.aheadBudget.usage(), { bytes: 0, readers: 0 })
})

t.test('a reader closed with blocks fetched ahead and unread: the memory tier gives their room back at the close', async t => {
  const { h, data, fh } = await smallTierWithLongFile(fn => t.teardown(fn), 'half.bin')
  for (let off = 0; off < 8 * MiB; off += 128 * 1024) t.ok((await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024)))
  for (let i = 0; i < 50 && h.reader.stats().inFlightBlocks > 0; i++) await new Promise(r => setTimeout(r, 10))
  const held = h.reader.memoryUsage().countedBytes
  t.ok(held > 2 * MiB, `the window's blocks wait in lent room (${held / MiB} MiB)`)
  await h.core.release(fh)
  const after = h.reader.memoryUsage().countedBytes
  t.ok(after <= 2 * MiB, `at the close the tier is its own size again, with no other block coming in (${after / MiB} MiB)`)
})

t.test("fetched blocks' buffers are reused once nothing holds them; a read returned to its caller keeps its bytes while blocks churn", async t => {
  const { h, data, fh } = await smallTierWithLongFile(fn => t.teardown(fn), 'churn.bin')
  const version = { key: 'churn.bin', etag: h.store.put('churn.bin', data), size: data.length }
  // What `read` returns is the caller's (a symlink's target, a copy-in of a file being written): never reused.
  const kept = await h.reader.read(version, 0, MiB)
  let ok = true
  for (let off = 0; off < data.length; off += 128 * 1024) {
    ok &&= (await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024))
    // At the pace of a link slower than the disk: the blocks' writes end before the next ones come.
    if (off % MiB === 0) await h.reader.blocksWritten(version)
  }
  t.ok(ok, 'the sequential read is byte-exact')
  const pool = h.reader.stats().blockBuffers
  t.ok(pool.reused > 10, `blocks came in buffers used before (${JSON.stringify(pool)})`)
  t.ok(pool.escaped >= 1, 'the block returned by read() escaped the pool')
  t.ok(kept.equals(data.subarray(0, MiB)), 'the block returned by read() still holds its own bytes after 39 more went through the tier')
})

/**
 * A 2 MiB memory tier and a 32 MiB object `key`; `gate` holds back what waits on it until
 * `open`; `churn(from, to)` reads blocks [from, to) one by one, each written to disk before the
 * next, so that block buffers are let go of and reused as fast as they can be.
 */
async function poolChurn(t: Test, key: string) {
  const h = await makeHarness({ reader: { memoryCacheBytes: 2 * MiB, readAheadBudgetBytes: 16 * MiB } })
  t.teardown(() => h.close())
  const data = randomBytes(32 * MiB)
  const version = { key, etag: h.store.put(key, data), size: data.length }
  let open!: () => void
  const gate = new Promise<void>(resolve => (open = resolve))
  const scratch = Buffer.alloc(MiB)
  const churn = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      t.equal(await h.reader.readInto(version, i * MiB, MiB / 2, scratch), MiB / 2)
      await h.reader.blocksWritten(version)
      await new Promise(resolve => setImmediate(resolve))
    }
    t.ok(h.reader.stats().blockBuffers.reused > 10, `buffers were reused meanwhile (${JSON.stringify(h.reader.stats().blockBuffers)})`)
  }
  return { h, data, version, gate, open, scratch, churn }
}

t.test('a read waiting for one block holds the block it already has: that buffer is not reused meanwhile', async t => {
  const { h, data, version, gate, open, scratch, churn } = await poolChurn(t, 'held.bin')
  const getPieces = h.store.getPieces.bind(h.store)
  h.store.getPieces = async (request, pieceBytes) => {
    if (request.start === 5 * MiB) await gate
    return getPieces(request, pieceBytes)
  }
  await h.reader.readInto(version, 4 * MiB, MiB, scratch) // block 4 into the tier
  const target = Buffer.alloc(MiB)
  // Half of block 4 (in memory) and half of block 5 (its GET held back).
  const straddling = h.reader.readInto(version, 4 * MiB + MiB / 2, MiB, target)
  await new Promise(resolve => setImmediate(resolve))
  // Twenty more blocks through a 2 MiB tier: block 4 leaves it, and its buffer would be free but for the read.
  await churn(10, 30)
  open()
  t.equal(await straddling, MiB)
  t.ok(
    target.equals(data.subarray(4 * MiB + MiB / 2, 5 * MiB + MiB / 2)),
    'the straddling read is byte-exact: block 4 was not overwritten while it waited for block 5',
  )
})

t.test("a block waiting for its disk write keeps its buffer: the block file holds that block's bytes however many blocks came through meanwhile", async t => {
  const { h, data, version, gate, open, scratch, churn } = await poolChurn(t, 'slow-write.bin')
  const write = h.disk.write.bind(h.disk)
  let first = true
  h.disk.write = (addr, block) => {
    if (!first) return write(addr, block)
    first = false
    return gate.then(() => write(addr, block)) // the first block's write waits (a busy disk)
  }
  await h.reader.readInto(version, 0, MiB / 2, scratch)
  // Twenty more blocks through a 2 MiB tier: block 0 leaves it while its write still waits.
  await churn(1, 21)
  open()
  await h.disk.drain()
  const onDisk = Buffer.alloc(MiB)
  t.ok(await h.reader.readBlockFromDisk(version, 0, onDisk), 'block 0 is on disk, and passes its checks')
  t.ok(onDisk.equals(data.subarray(0, MiB)), "block 0's file holds block 0's bytes")
})
