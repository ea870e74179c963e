/**
 * ENOSPC is handled once per episode: the bound comes from statfs (not from the
 * number of failed writes), never rises above the configured size, and comes back
 * when space returns. Also: one catalog compaction at a time.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { DiskSpaceGuard } from '../../src/cache/disk-space-guard.js'
import { ObjectCatalog } from '../../src/cache/object-catalog.js'

const MiB = 1024 * 1024
const log = pino({ level: 'silent' })

function guard(available: { bytes: number }, used: { bytes: number }, clock: { now: number }) {
  const bounds: number[] = []
  let probes = 0
  const g = new DiskSpaceGuard({
    configuredMaxBytes: 1000 * MiB,
    usedBytes: () => used.bytes,
    setMaxBytes: b => bounds.push(b),
    probe: async () => {
      probes++
      return available.bytes
    },
    log,
    now: () => clock.now,
    headroomBytes: 10 * MiB,
    recheckMs: 1000,
    timers: false,
  })
  return { g, bounds, probes: () => probes }
}

t.test('many failed writes in flight lower the bound once, from statfs', async t => {
  const available = { bytes: 50 * MiB }
  const used = { bytes: 400 * MiB }
  const clock = { now: 0 }
  const { g, bounds, probes } = guard(available, used, clock)
  await Promise.all(Array.from({ length: 64 }, () => g.noSpace()))
  t.equal(probes(), 1, 'one statfs for the burst')
  t.same(bounds, [440 * MiB], 'used + free − headroom, not 0.9^64 of anything')
  t.ok(g.inEpisode)
  t.equal(g.episodes, 1)
  clock.now += 500
  await g.noSpace()
  t.equal(probes(), 1, 'a failure soon after does not probe again')
})

t.test('the bound follows space back up and the episode ends at the configured size', async t => {
  const available = { bytes: 0 }
  const used = { bytes: 100 * MiB }
  const clock = { now: 0 }
  const { g, bounds } = guard(available, used, clock)
  await g.noSpace()
  t.same(bounds, [90 * MiB])
  available.bytes = 200 * MiB
  await g.recheck()
  t.same(bounds.at(-1), 290 * MiB, 'partly back')
  available.bytes = 5000 * MiB
  await g.recheck()
  t.same(bounds.at(-1), 1000 * MiB, 'never above --cache-size')
  t.notOk(g.inEpisode, 'episode over')
  await g.recheck()
  t.equal(bounds.length, 3, 'no probing outside an episode')
  clock.now += 10_000
  available.bytes = 0
  await g.noSpace()
  t.equal(g.episodes, 2, 'a new episode')
})

t.test('a bound from statfs is never negative; without statfs, 90 % of what is cached once per probe', async t => {
  const used = { bytes: 5 * MiB }
  const clock = { now: 0 }
  const { g, bounds } = guard({ bytes: 0 }, used, clock)
  await g.noSpace()
  t.same(bounds, [0])
  const failing = new DiskSpaceGuard({
    configuredMaxBytes: 1000 * MiB,
    usedBytes: () => 100 * MiB,
    setMaxBytes: b => bounds.push(b),
    probe: async () => {
      throw new Error('no statfs')
    },
    log,
    now: () => clock.now,
    recheckMs: 1000,
    timers: false,
  })
  await Promise.all([failing.noSpace(), failing.noSpace(), failing.noSpace()])
  t.same(bounds.slice(1), [90 * MiB])
})

t.test('catalog: compactions requested while one is pending share it', async t => {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-cat-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const cat = await ObjectCatalog.open(dir)
  await cat.record('a', { ns: 'n', key: 'k/a' })
  let iterations = 0
  function* live(): Generator<[string, { ns: string; key: string }]> {
    iterations++
    yield ['a', { ns: 'n', key: 'k/a' }]
  }
  const runs = Array.from({ length: 100 }, () => cat.compact(live()))
  t.equal(new Set(runs).size, 1, 'one promise for all')
  await Promise.all(runs)
  t.equal(iterations, 1, 'one rewrite')
  t.equal(cat.appendedLines, 1)
  await cat.compact(live())
  t.equal(iterations, 2, 'the next request after it is a new compaction')
  t.equal((await readFile(join(dir, 'objects.jsonl'), 'utf8')).trim().split('\n').length, 1)
})
