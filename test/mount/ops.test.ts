/**
 * `s3cachefs load` through a real mount (issue 5): load then read with zero GETs;
 * a load beside readers fetches every byte once; a load larger than the cache is
 * refused before any GET. Pins, free and TTLs: ops-pin.test.ts.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { type Fixture, makeFixture } from './mount-fixture.js'
import { MiB, gets, putAll, stats, verify } from './ops-helpers.js'

const getBytes = async (fx: Fixture) => {
  const s = await fx.server.stats()
  return s.bytesSentByKind.getObject + s.bytesSentByKind.rangedGet
}

t.test('load', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 40; i++) files.set(`ds/train/c${i % 4}/${i}.jpg`, randomBytes(50_000 + i * 2000))
  files.set('ds/shards/s.tar', randomBytes(20 * MiB + 5))
  for (let i = 0; i < 24; i++) files.set(`ds2/c${i % 3}/${i}.jpg`, randomBytes(300_000 + i))
  files.set('ds2/big/a.bin', randomBytes(12 * MiB + 1))
  files.set('ds2/big/b.bin', randomBytes(12 * MiB + 2))
  files.set('huge/x.bin', randomBytes(20 * MiB))
  await putAll(fx, files)
  const bytesUnder = (p: string) => [...files].filter(([k]) => k.startsWith(p)).reduce((s, [, v]) => s + v.length, 0)

  await t.test('load --wait, then reads cost zero GETs', async t => {
    await fx.mount()
    const r = await fx.cli(['load', `${fx.mountPoint}/ds`, '--wait'])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /^loaded 41 files \(23\.4 MiB\) in \d+s, [\d.]+ MB\/s\n$/)
    await fx.resetRequests()
    await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    await verify(t, fx, files, 'ds/')
    t.equal(await gets(fx), 0, 'no GET after the load')
    const s = await stats(fx)
    t.equal(s.loads.filesDone, 41)
    t.equal(s.loads.bytesDone, bytesUnder('ds/'))
    t.equal(s.loads.objectsLoading, 0)
    t.equal(s.reads.hitRatio, 1, 'hit ratio in bytes served: 100 % after a load')
    t.equal(s.reads.bytesServedFromStore, 0)
  })

  await t.test('a load beside readers fetches every byte once', async t => {
    await fx.resetRequests()
    await fx.server.injectFault({ delayMs: 40, match: 'GET', keyPrefix: 'ds2/', count: 1000 })
    const r = await fx.cli(['load', `${fx.mountPoint}/ds2`, '--concurrency', '4'])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /loading 26 files \(.*\) into the cache of .* in the background; 's3cachefs stats .*' shows progress/)
    await verify(t, fx, files, 'ds2/')
    for (let i = 0; i < 300 && (await stats(fx)).loads.active > 0; i++) await new Promise(res => setTimeout(res, 100))
    await fx.server.clearFaults()
    t.equal(await getBytes(fx), bytesUnder('ds2/'), 'bytes fetched = bytes of the files: no block twice')
  })

  await t.test('a load larger than the cache is refused before any GET', async t => {
    await fx.unmount()
    await fx.mount(['--cache-size', '16MiB'])
    await fx.resetRequests()
    const r = await fx.cli(['load', `${fx.mountPoint}/huge`, '--wait'])
    t.equal(r.code, 1)
    t.equal(
      r.stderr,
      's3cachefs: load: /huge holds 20.0 MiB in 1 files: more than the cache can hold (--cache-size 16.0 MiB, 0 B of it pinned, 16.0 MiB available); nothing was loaded\n',
    )
    t.equal(await gets(fx), 0)
    await fx.unmount()
  })
})
