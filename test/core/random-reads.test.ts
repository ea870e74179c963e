/**
 * Random access inside a large object: after a few non-sequential reads the object is
 * fetched whole in the background while the reader's own ranges go first; a lone read
 * near the end (a footer) never starts that; bytes are exact throughout.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { splitIntoPieces } from '../../src/s3/object-client.js'
import { MiB, makeHarness, readAll, type Harness } from './harness.js'

async function settle(h: Harness): Promise<void> {
  for (let quiet = 0; quiet < 3;) {
    await new Promise(r => setTimeout(r, 20))
    quiet = h.reader.stats().inFlightBlocks === 0 ? quiet + 1 : 0
  }
}

t.test('random reads start a whole-object fetch that races foreground reads, byte-exact', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(40 * MiB + 12345)
  h.store.put('shard.tar', data)
  const fh = await h.core.open('/shard.tar', 0)
  let seed = 7
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const offsets = Array.from({ length: 60 }, () => Math.floor(rand() * (data.length - 256 * 1024)))
  // Foreground reads, several at once, while the background fetch (started after the 4th) runs.
  for (let i = 0; i < offsets.length; i += 6) {
    await Promise.all(
      offsets.slice(i, i + 6).map(async off => {
        const got = await h.core.read(fh, off, 256 * 1024)
        t.ok(got.equals(data.subarray(off, off + 256 * 1024)), `bytes at ${off}`)
      }),
    )
  }
  await settle(h)
  const gets = h.counts().get
  t.ok(gets <= 10 + 12, `the object came in about one GET per 4 MiB part plus the first reads (${gets} GETs)`)
  await h.disk.drain()
  for (let off = 0; off < data.length; off += 3 * MiB) t.ok((await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024)))
  t.equal(h.counts().get, gets, 'every later read is a local hit')
  await h.core.release(fh)
})

t.test('a footer read and a sequential scan never fetch the whole object', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(64 * MiB)
  h.store.put('table.parquet', data)
  const fh = await h.core.open('/table.parquet', 0)
  t.ok((await h.core.read(fh, data.length - 8, 8)).equals(data.subarray(-8)), 'footer length')
  t.ok((await h.core.read(fh, data.length - 70_000, 69_992)).equals(data.subarray(-70_000, -8)), 'footer')
  t.ok((await h.core.read(fh, 1000, 50_000)).equals(data.subarray(1000, 51_000)), 'one row group')
  await settle(h)
  t.ok(h.reader.stats().bytesFromStore <= 12 * MiB, `only what was read, and its read-ahead (${h.reader.stats().bytesFromStore / MiB} MiB)`)
  await h.core.release(fh)
})

t.test('the memory cache keeps alive no more than it counts', async t => {
  const h = await makeHarness({ reader: { memoryCacheBytes: 6 * MiB } })
  t.teardown(() => h.close())
  const data = randomBytes(40 * MiB)
  h.store.put('seq.bin', data)
  const fh = await h.core.open('/seq.bin', 0)
  for (let off = 0; off < data.length; off += 128 * 1024) await h.core.read(fh, off, 128 * 1024)
  for (let i = 0; i < 50; i++) h.store.put(`small/${i}`, randomBytes(1000 + i))
  for (let i = 0; i < 50; i++) await readAll(h.core, `/small/${i}`)
  const m = h.reader.memoryUsage()
  t.ok(m.countedBytes <= 6 * MiB, `counted ${m.countedBytes}`)
  t.ok(m.retainedBytes <= m.countedBytes + 64 * 1024, `retained ${m.retainedBytes} ≈ counted ${m.countedBytes}`)
  await h.core.release(fh)
})

t.test('a whole-object load keeps its window of parts in flight: the next part starts as soon as one is stored', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(40 * MiB) // 10 parts of 4 MiB
  h.store.put('big.bin', data)
  const head = await h.store.head('big.bin')
  const obj = { key: 'big.bin', etag: head.etag, size: data.length }
  const getPieces = h.store.getPieces.bind(h.store)
  let inFlight = 0
  let maxInFlight = 0
  let startedWhileFirstSlow = 0
  let firstDone = false
  h.store.getPieces = async (request, pieceBytes) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    if (request.start > 4 * MiB && !firstDone) startedWhileFirstSlow++
    try {
      // The first part is slow; the others are quick.
      await new Promise(r => setTimeout(r, request.start === 0 ? 400 : 10))
      return await getPieces(request, pieceBytes)
    } finally {
      if (request.start === 0) firstDone = true
      inFlight--
    }
  }
  const bytes = await h.reader.preload(obj, undefined, 2)
  t.equal(bytes, data.length, 'every byte on disk')
  t.ok(maxInFlight <= 2, `at most the window in flight (${maxInFlight})`)
  t.ok(startedWhileFirstSlow >= 5, `the parts after the second went on while the first was slow (${startedWhileFirstSlow} of 8)`)
  await h.disk.drain()
  const fh = await h.core.open('/big.bin', 0)
  for (let off = 0; off < data.length; off += 5 * MiB)
    t.ok((await h.core.read(fh, off, 128 * 1024)).equals(data.subarray(off, off + 128 * 1024)), `bytes at ${off}`)
  await h.core.release(fh)
})

t.test('a read of a block inside a part being fetched is served once its bytes are in, not when the part ends', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(40 * MiB) // parts of 4 MiB, blocks of 1 MiB
  h.store.put('big.bin', data)
  const head = await h.store.head('big.bin')
  const obj = { key: 'big.bin', etag: head.etag, size: data.length }
  const getPieces = h.store.getPieces.bind(h.store)
  let release!: () => void
  const stalled = new Promise<void>(r => (release = r))
  const ranges: number[] = []
  h.store.getPieces = async (request, pieceBytes) => {
    ranges.push(request.start)
    const { onPiece, ...plain } = request
    const pieces = await getPieces(plain, pieceBytes)
    if (request.start !== 0) return pieces
    // The first part: its first two blocks arrive, then the body stalls.
    onPiece?.(0, pieces[0] as Buffer)
    onPiece?.(1, pieces[1] as Buffer)
    await stalled
    return pieces
  }
  const loading = h.reader.preload(obj, undefined, 1)
  await new Promise(r => setTimeout(r, 50))
  const fh = await h.core.open('/big.bin', 0)
  const read = h.core.read(fh, MiB + 10, 200_000)
  const got = await Promise.race([read, new Promise<'waiting'>(r => setTimeout(() => r('waiting'), 2000))])
  t.not(got, 'waiting', 'the read of block 1 did not wait for the rest of its part')
  if (got !== 'waiting') t.ok(got.equals(data.subarray(MiB + 10, MiB + 200_010)), 'exact bytes')
  t.same(ranges, [0], 'it joined the part in flight: no GET of its own')
  release()
  t.equal(await loading, data.length, 'the load completes')
  t.ok((await h.core.read(fh, 3 * MiB, 1000)).equals(data.subarray(3 * MiB, 3 * MiB + 1000)), 'a block resolved at the end of its part')
  await h.core.release(fh)
})

/** A store whose part GETs from `stallFrom` on deliver their first block, then stall until released; ranged GETs are recorded. */
function stallParts(h: Harness, stallFrom: number): { release: () => void; ranged: Array<[number, number]>; partGets: number[] } {
  const getRange = h.store.getRange.bind(h.store)
  let release!: () => void
  const stalled = new Promise<void>(r => (release = r))
  const ranged: Array<[number, number]> = []
  const partGets: number[] = []
  // The memory store's getPieces calls getRange: pieces are cut here from the real getRange, so `ranged` holds only readers' own GETs.
  h.store.getPieces = async (request, pieceBytes) => {
    partGets.push(request.start)
    const { onPiece, ...plain } = request
    const pieces = splitIntoPieces(await getRange(plain), pieceBytes)
    if (request.start < stallFrom) return pieces
    onPiece?.(0, pieces[0] as Buffer)
    await stalled
    return pieces
  }
  h.store.getRange = async request => {
    ranged.push([request.start, request.endExclusive])
    return getRange(request)
  }
  return { release, ranged, partGets }
}

/**
 * A harness whose `big.bin` (`size` random bytes) is being loaded one part at a time by a
 * background load whose part GET delivered its first block and stalls; `big.bin` open.
 */
async function stalledLoad(t: Test, size: number, beforeLoad: (store: ReturnType<typeof stallParts>, h: Harness) => void = () => {}) {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(size)
  h.store.put('big.bin', data)
  const head = await h.store.head('big.bin')
  const store = stallParts(h, 0)
  beforeLoad(store, h)
  const loading = h.reader.preload({ key: 'big.bin', etag: head.etag, size: data.length }, undefined, 1)
  loading.catch(() => {})
  while (store.partGets.length < 1) await new Promise(r => setTimeout(r, 10))
  await new Promise(r => setTimeout(r, 20))
  const fh = await h.core.open('/big.bin', 0)
  return { h, data, store, loading, fh }
}

t.test('a read of a block a background load reaches late fetches its own bytes, and the block still comes once, from the load', async t => {
  const { h, data, store, loading, fh } = await stalledLoad(t, 40 * MiB) // parts of 4 MiB, blocks of 1 MiB
  // Block 2 of the first part: the load delivered block 0 and stalls.
  const at = 2 * MiB + 4096
  const read = h.core.read(fh, at, 256 * 1024)
  const got = await Promise.race([read, new Promise<'waiting'>(r => setTimeout(() => r('waiting'), 2000))])
  t.not(got, 'waiting', 'the read did not wait behind the stalled part')
  if (got !== 'waiting') t.ok(got.equals(data.subarray(at, at + 256 * 1024)), 'exact bytes')
  t.same(store.ranged, [[at, at + 256 * 1024]], 'one ranged GET of exactly the bytes read')
  // Block 1 is next in the stream (the load is reading it): that read waits for the stream.
  const next = h.core.read(fh, MiB, 1000)
  t.equal(await Promise.race([next, new Promise<'waiting'>(r => setTimeout(() => r('waiting'), 200))]), 'waiting', 'the block being streamed is waited for')
  t.equal(store.ranged.length, 1, 'no ranged GET for it')
  t.match(h.reader.stats().overtakes, { reads: 1, won: 1, bytes: 256 * 1024, fetchedBytes: 256 * 1024, failed: 0 }, 'counted')
  store.release()
  t.ok((await next).equals(data.subarray(MiB, MiB + 1000)), 'exact bytes once the stream goes on')
  t.equal(await loading, data.length, 'the load stored every block')
  await h.disk.drain()
  const gets = h.counts().get
  t.ok((await h.core.read(fh, 2 * MiB, MiB)).equals(data.subarray(2 * MiB, 3 * MiB)), 'the overtaken block is cached whole and exact')
  t.equal(h.counts().get, gets, 'from the cache')
  await h.core.release(fh)
})

t.test('an overtaking read whose ranged GET fails gets the block from the background fetch', async t => {
  const { h, data, store, loading, fh } = await stalledLoad(t, 16 * MiB, (store, h) => {
    h.store.getRange = async request => {
      store.ranged.push([request.start, request.endExclusive])
      throw new Error('connection reset')
    }
  })
  const read = h.core.read(fh, 3 * MiB + 17, 300_000)
  await new Promise(r => setTimeout(r, 100))
  store.release()
  t.ok((await read).equals(data.subarray(3 * MiB + 17, 3 * MiB + 300_017)), 'exact bytes, from the block')
  t.match(h.reader.stats().overtakes, { reads: 1, won: 0, bytes: 0, fetchedBytes: 0, failed: 1 }, 'the overtake lost')
  t.equal(await loading, data.length)
  await h.core.release(fh)
})

t.test('an object replaced while a read overtakes its background fetch: the read gets the version it opened, never a mix', async t => {
  // The load's part GET was answered (old version) before the object is replaced; it stalls mid-body.
  const stalled = await stalledLoad(t, 16 * MiB)
  const { h, data, store, fh } = stalled
  const loading = stalled.loading.then(
    () => 'loaded',
    (err: unknown) => (err as { code?: string }).code,
  )
  h.store.put('big.bin', randomBytes(16 * MiB))
  const read = h.core.read(fh, 2 * MiB, 4096)
  await new Promise(r => setTimeout(r, 100))
  store.release()
  t.ok((await read).equals(data.subarray(2 * MiB, 2 * MiB + 4096)), 'the bytes of the version opened')
  t.equal(store.ranged.length, 1, 'it had tried its own GET')
  t.match(h.reader.stats().overtakes, { reads: 1, won: 0, bytes: 0, failed: 1 }, 'which the store refused (If-Match)')
  t.equal(await loading, 'PRECONDITION_FAILED', 'the load stops at the parts of the new version')
  await h.core.release(fh)
})

t.test('no overtake by a sequential reader beside a load, nor of a small object loaded whole', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const big = randomBytes(16 * MiB)
  // ≤ wholeObjectMaxBytes (4 MiB): one GET of the whole object, checked whole. Its block 1, next in the stalled stream, is
  // waited on by the read (a whole object's read covers every block), so block 2 is not overtaken either; `!whole` guards it too.
  const small = randomBytes(3 * MiB + 5)
  h.store.put('big.bin', big)
  h.store.put('small.bin', small)
  const store = stallParts(h, 0)
  const version = async (key: string, size: number) => ({ key, etag: (await h.store.head(key)).etag, size })
  const loads = [h.reader.preload(await version('big.bin', big.length), undefined, 1), h.reader.preload(await version('small.bin', small.length), undefined, 1)]
  // Both loads' GETs are streaming (and stalled after their first block) before anyone reads.
  while (store.partGets.length < 2) await new Promise(r => setTimeout(r, 10))
  await new Promise(r => setTimeout(r, 20))
  const seq = await h.core.open('/big.bin', 0)
  const reads = [0, 1, 2, 3].map(n => h.core.read(seq, n * 128 * 1024, 128 * 1024)) // from offset 0: a window opens at once
  reads.push(h.core.read(seq, 2 * MiB, 128 * 1024)) // the kernel's read-ahead of the same reader, further on
  const fsmall = await h.core.open('/small.bin', 0)
  const smallRead = h.core.read(fsmall, 2 * MiB + 100, 4096)
  await new Promise(r => setTimeout(r, 100))
  t.same(store.ranged, [], 'no ranged GET of their own')
  store.release()
  const got = await Promise.all(reads)
  t.ok(got[4]?.equals(big.subarray(2 * MiB, 2 * MiB + 128 * 1024)), 'exact bytes')
  t.ok((await smallRead).equals(small.subarray(2 * MiB + 100, 2 * MiB + 4196)), 'exact bytes of the small object')
  t.same(await Promise.all(loads), [big.length, small.length])
  t.equal(h.reader.stats().overtakes.reads, 0)
  await h.core.release(seq)
  await h.core.release(fsmall)
})

t.test('a random read across two blocks of one lagging part overtakes both, and the part stays in the background', async t => {
  const { h, data, store, loading, fh } = await stalledLoad(t, 16 * MiB)
  const at = 3 * MiB - 100_000 // blocks 2 and 3 of the stalled first part
  const read = h.core.read(fh, at, 256 * 1024)
  const got = await Promise.race([read, new Promise<'waiting'>(r => setTimeout(() => r('waiting'), 2000))])
  t.not(got, 'waiting', 'served while the part is stalled')
  if (got !== 'waiting') t.ok(got.equals(data.subarray(at, at + 256 * 1024)), 'exact bytes')
  t.same(
    store.ranged,
    [
      [at, 3 * MiB],
      [3 * MiB, at + 256 * 1024],
    ],
    'a ranged GET for each block, of just the bytes read',
  )
  store.release()
  t.equal(await loading, data.length)
  await h.core.release(fh)
})
