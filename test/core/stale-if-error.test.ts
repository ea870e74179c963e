/**
 * Stale-if-error through the core: with the store failing past the metadata TTL,
 * cached files and listings are served (metadata past its TTL, blocks of the
 * version last seen) instead of EIO, for the stale window only; 403/404 answers
 * are never hidden; an uncached file still fails.
 */
import t from 'tap'
import { AccessDeniedError, NetworkError, NotFoundError, RemoteServerError } from '../../src/errors.js'
import { MetadataRefresher } from '../../src/ops/metadata-refresher.js'
import { log, makeHarness, readAll } from './harness.js'

const HOUR = 3600_000
const down = (h: Awaited<ReturnType<typeof makeHarness>>, error: () => Error) => {
  for (const op of ['list', 'head', 'get'] as const) h.faults.inject({ op, remaining: Infinity, error })
}

t.test('a store down past the TTL: cached files and listings are served stale', async t => {
  const h = await makeHarness({ metadata: { staleIfErrorMs: HOUR } })
  t.teardown(() => h.close())
  h.store.put('d/a.bin', Buffer.alloc(300_000, 1))
  h.store.put('d/b.bin', Buffer.alloc(1000, 2))
  t.same(await h.core.readdir('/d'), ['a.bin', 'b.bin'])
  t.equal((await readAll(h.core, '/d/a.bin')).length, 300_000)
  await h.disk.drain()
  h.clock.now += 61_000
  down(h, () => new NetworkError('connect ECONNREFUSED'))
  t.same(await h.core.readdir('/d'), ['a.bin', 'b.bin'], 'listing past its TTL')
  const asked = h.counts()
  t.equal((await h.core.getattr('/d/b.bin')).size, 1000, 'known names are answered at once during the outage')
  t.same(h.counts(), asked, 'without asking the failing store again')
  t.same(await readAll(h.core, '/d/a.bin'), Buffer.alloc(300_000, 1), 'cached file past its TTL')
  await t.rejects(readAll(h.core, '/d/b.bin'), NetworkError, 'a file never read still fails')
  await t.rejects(h.core.getattr('/d/absent'), NotFoundError, 'an absent name stays absent')
  const s = h.metadata.staleStats()
  t.ok(s.staleAnswers >= 2, `${s.staleAnswers} stale answers`)
  t.equal(s.episodes, 1)
  t.ok(s.active)
  h.faults.clear()
  h.clock.now += 61_000
  t.same(await h.core.readdir('/d'), ['a.bin', 'b.bin'])
  t.notOk(h.metadata.staleStats().active, 'episode over once the store answers')
})

t.test('past the stale window, or with it off, the failure is the answer', async t => {
  for (const [staleIfErrorMs, advance] of [
    [HOUR, HOUR + 61_000],
    [0, 61_000],
  ] as const) {
    const h = await makeHarness({ metadata: { staleIfErrorMs } })
    h.store.put('x', 'x')
    await h.core.getattr('/x')
    h.clock.now += advance
    down(h, () => new RemoteServerError('500'))
    await t.rejects(h.core.getattr('/x'), RemoteServerError, `window ${staleIfErrorMs}, ${advance} ms later`)
    await h.close()
  }
})

t.test('a 403 is never hidden by stale metadata', async t => {
  const h = await makeHarness({ metadata: { staleIfErrorMs: HOUR } })
  t.teardown(() => h.close())
  h.store.put('x', 'x')
  await h.core.getattr('/x')
  h.clock.now += 61_000
  down(h, () => new AccessDeniedError('denied'))
  await t.rejects(h.core.getattr('/x'), AccessDeniedError)
  t.equal(h.metadata.staleStats().staleAnswers, 0)
})

t.test('a refresh (or the periodic sync) during an outage keeps what was known, and says it failed', async t => {
  const h = await makeHarness({ metadata: { staleIfErrorMs: HOUR } })
  t.teardown(() => h.close())
  h.store.put('d/a.bin', Buffer.alloc(5000, 7))
  t.same(await h.core.readdir('/'), ['d'])
  t.equal((await readAll(h.core, '/d/a.bin')).length, 5000)
  await h.disk.drain()
  down(h, () => new NetworkError('connect ECONNREFUSED'))
  const refresher = new MetadataRefresher(h.metadata, 4, log)
  await t.rejects(refresher.refresh('/'), RemoteServerError, 'the refresh reports the failing store')
  t.same(await h.core.readdir('/d'), ['a.bin'], 'the listing is still served')
  t.same(await readAll(h.core, '/d/a.bin'), Buffer.alloc(5000, 7), 'and the file')
  h.faults.clear()
  h.clock.now += 10_000
  h.store.put('d/b.bin', 'new')
  const rep = await refresher.refresh('/')
  t.ok(rep.directories >= 2)
  t.same(await h.core.readdir('/d'), ['a.bin', 'b.bin'], 'once the store answers, the refresh sees the change')
})
