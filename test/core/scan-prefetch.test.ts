/**
 * Cross-file prefetch: a shuffled epoch over a tree starts prefetching the rest of it
 * (each file fetched once, whether the reader or the prefetcher gets there first); it
 * stops when reads stop; it never makes the cache evict.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { shuffled } from '../helpers/shuffled.js'
import { MiB, makeHarness, readAll, type Harness } from './harness.js'

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
}

function tree(h: Harness, classes: number, perClass: number, bytes: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (let c = 0; c < classes; c++) {
    for (let f = 0; f < perClass; f++) {
      const data = randomBytes(bytes)
      h.store.put(`train/c${c}/f${f}.jpg`, data)
      files.set(`/train/c${c}/f${f}.jpg`, data)
    }
  }
  return files
}

t.test('a shuffled epoch prefetches the rest of the tree; every file is fetched once', async t => {
  const h = await makeHarness({ prefetch: { distinctOpensToStart: 16 } })
  t.teardown(() => h.close())
  const files = tree(h, 10, 30, 20_000)
  h.faults.inject({ op: 'get', remaining: Infinity, delayMs: 10 }) // a store with latency: one reader is latency-bound
  await h.core.readdir('/train')
  const order = shuffled([...files.keys()], 3)
  for (const path of order.slice(0, 16)) t.ok((await readAll(h.core, path)).equals(files.get(path) as Buffer))
  await until(() => h.prefetcher.stats().jobs === 1 || h.prefetcher.stats().filesPrefetched > 0)
  // The reader goes on while the prefetcher works: both ask for files, each fetched once.
  for (const path of order.slice(16)) t.ok((await readAll(h.core, path)).equals(files.get(path) as Buffer), path)
  await until(() => h.prefetcher.stats().jobs === 0)
  const s = h.prefetcher.stats()
  t.equal(h.counts().get, 300, 'one GET per file, whoever asked first')
  t.ok(s.filesPrefetched > 100, `the prefetcher brought most of them (${s.filesPrefetched})`)
  t.ok(s.hits > 50, `and they were opened afterwards (${s.hits} hits)`)
  t.equal(h.counts().head, 0, 'no HEAD per file')
})

t.test('prefetch stops when reads stop', async t => {
  const h = await makeHarness({ prefetch: { distinctOpensToStart: 8, filesInFlight: 2, idleStopMs: 5_000 } })
  t.teardown(() => h.close())
  const files = tree(h, 4, 250, 2_000)
  h.faults.inject({ op: 'get', remaining: Infinity, delayMs: 5 })
  for (const path of shuffled([...files.keys()], 9).slice(0, 8)) await readAll(h.core, path)
  await until(() => h.prefetcher.stats().filesPrefetched >= 10)
  h.clock.now += 6_000 // no open for longer than idleStopMs
  await until(() => h.prefetcher.stats().jobs === 0)
  const done = h.prefetcher.stats().filesPrefetched
  t.equal(h.prefetcher.stats().jobs, 0, 'the job stopped')
  t.ok(done < 900, `it did not go on to the end (${done} of 992 files)`)
})

t.test('prefetch never makes the cache evict', async t => {
  const h = await makeHarness({ cacheBytes: 8 * MiB, prefetch: { distinctOpensToStart: 4 } })
  t.teardown(() => h.close())
  const files = tree(h, 2, 50, 500_000) // 50 MB through an 8 MiB cache
  for (const path of [...files.keys()].slice(0, 4)) await readAll(h.core, path)
  await until(() => h.prefetcher.stats().jobs === 0)
  await h.disk.drain()
  const c = h.disk.stats()
  t.equal(c.evictedBlocks, 0, 'nothing evicted')
  t.ok(c.usedBytes <= c.maxBytes, `within the bound (${c.usedBytes} of ${c.maxBytes})`)
  t.ok(h.prefetcher.stats().filesPrefetched >= 5, `it filled the free room (${h.prefetcher.stats().filesPrefetched} files)`)
})

t.test('an announced order: GETs run ahead of a serial reader; skipped files are never fetched', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const files = tree(h, 2, 100, 10_000)
  h.faults.inject({ op: 'get', remaining: Infinity, delayMs: 15 })
  const order = shuffled([...files.keys()], 11)
  h.announced.announce(order, false)
  await until(() => h.counts().get >= 16) // the window fills before the reader starts
  const t0 = Date.now()
  for (const path of order.slice(0, 60)) t.ok((await readAll(h.core, path)).equals(files.get(path) as Buffer))
  const ms = Date.now() - t0
  t.ok(ms < 60 * 15, `60 serial reads took ${ms} ms, less than 60 store round trips`)
  const s = h.announced.stats()
  t.equal(s.position, 60)
  t.ok(s.hits >= 40, `most opens found their file already fetched (${s.hits})`)
  // The reader jumps ahead: what it jumped over and the window had not started is never fetched.
  const getsBefore = h.counts().get
  await readAll(h.core, order[150] as string)
  await until(() => h.counts().get - getsBefore >= 16)
  await new Promise(r => setTimeout(r, 200))
  const fetched = h.counts().get - getsBefore
  t.ok(fetched <= 1 + 16 + 16, `after the jump only the new window was fetched (${fetched} GETs), not the 90 files jumped over`)
  // A reader that skips a few files moves past them: they are dropped and counted.
  await readAll(h.core, order[156] as string)
  t.equal(h.announced.stats().skipped, 5, 'the 5 files skipped are counted')
  await until(() => h.reader.stats().inFlightBlocks === 0) // the window it started, before teardown
  await h.disk.drain()
})

t.test('an announced order read by 4 workers at once (a DataLoader) is followed by a cursor each, nothing skipped', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const files = tree(h, 2, 100, 10_000)
  h.faults.inject({ op: 'get', remaining: Infinity, delayMs: 15 })
  const order = shuffled([...files.keys()], 12)
  h.announced.announce(order, false)
  // Worker w reads batch w (files w*50 … w*50+49); the four go in turn, one file each.
  const t0 = Date.now()
  for (let j = 0; j < 50; j++) {
    await Promise.all(
      [0, 1, 2, 3].map(async w => {
        const path = order[w * 50 + j] as string
        t.ok((await readAll(h.core, path)).equals(files.get(path) as Buffer))
      }),
    )
  }
  const ms = Date.now() - t0
  const s = h.announced.stats()
  t.equal(s.skipped, 0, "no worker's files counted as skipped")
  t.equal(s.position, 200, 'every open seen')
  // Counted, not timed: without the cursors hardly any open finds its file fetched (each
  // worker's reads were counted as the others' skips); on a quiet machine 160–180 do.
  t.ok(s.hits >= 100, `most opens found their file fetched ahead (${s.hits} of 200)`)
  t.comment(`50 rounds of 4 reads took ${ms} ms (50 store round trips: ${50 * 15} ms)`)
  t.equal(h.counts().get, 200, 'each file fetched once')
})
