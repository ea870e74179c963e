/**
 * Seeing out-of-band changes before the metadata TTL (issue 5): `s3cachefs
 * refresh` and `--metadata-sync-interval` through a real mount whose metadata
 * would otherwise be trusted for an hour.
 */
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

t.test('refresh and the metadata sync', async t => {
  const fx = await makeFixture(t)
  await fx.put('d/a.txt', 'A')
  await fx.put('d/gone.txt', 'G')

  await t.test('refresh sees objects added and deleted out of band', async t => {
    await fx.mount(['--metadata-ttl', '1h', '--negative-ttl', '1h'])
    t.equal((await fx.sh(`ls ${fx.mountPoint}/d`)).stdout, 'a.txt\ngone.txt\n')
    t.match((await fx.sh(`cat ${fx.mountPoint}/d/new.txt`)).stderr, /No such file/, 'not there yet')
    await fx.put('d/new.txt', 'N')
    await fx.del('d/gone.txt')
    t.equal((await fx.sh(`ls ${fx.mountPoint}/d`)).stdout, 'a.txt\ngone.txt\n', 'the listing is trusted for an hour')
    t.match((await fx.sh(`cat ${fx.mountPoint}/d/new.txt`)).stderr, /No such file/, 'and so is "no such file"')
    const r = await fx.cli(['refresh', `${fx.mountPoint}/d`])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /^refreshed .*\/d: listed 1 directory again \(2 entries\)\n$/)
    t.equal((await fx.sh(`ls ${fx.mountPoint}/d`)).stdout, 'a.txt\nnew.txt\n')
    t.equal((await fx.sh(`cat ${fx.mountPoint}/d/new.txt`)).stdout, 'N')
    t.match((await fx.sh(`cat ${fx.mountPoint}/d/gone.txt`)).stderr, /No such file/, 'deleted: ENOENT')
    await fx.put('top.txt', 'T')
    t.match((await fx.cli(['refresh', fx.mountPoint])).stdout, /listed 2 directories again/)
    t.equal((await fx.sh(`cat ${fx.mountPoint}/top.txt`)).stdout, 'T')
    await fx.unmount()
  })

  await t.test('--metadata-sync-interval picks up changes by itself', async t => {
    await fx.mount(['--metadata-ttl', '1h', '--negative-ttl', '1h', '--metadata-sync-interval', '1s'])
    t.equal((await fx.sh(`ls ${fx.mountPoint}/d`)).stdout, 'a.txt\nnew.txt\n')
    await fx.put('d/later.txt', 'L')
    await new Promise(r => setTimeout(r, 2500))
    t.equal((await fx.sh(`ls ${fx.mountPoint}/d`)).stdout, 'a.txt\nlater.txt\nnew.txt\n')
    await fx.unmount()
  })

  await t.test('bad values are refused at mount with one line', async t => {
    const r = await fx.cli([
      'mount',
      `s3://${fx.bucket}`,
      fx.mountPoint,
      '--endpoint-url',
      fx.server.endpoint,
      '--cache-dir',
      fx.cacheDir,
      '--metadata-sync-interval',
      '10ms',
    ])
    t.equal(r.code, 2)
    t.equal(r.stderr, "s3cachefs: --metadata-sync-interval: must be at least 1s, or never (got '10ms')\n")
    const e = await fx.cli([
      'mount',
      `s3://${fx.bucket}`,
      fx.mountPoint,
      '--endpoint-url',
      fx.server.endpoint,
      '--cache-dir',
      fx.cacheDir,
      '--eviction',
      'fifo',
    ])
    t.equal(e.code, 2)
    t.equal(e.stderr, "s3cachefs: --eviction: must be one of lru, scan-resistant (got 'fifo')\n")
  })
})
