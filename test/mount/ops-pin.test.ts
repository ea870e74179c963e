/**
 * Pins, free and TTLs through a real mount (issue 5): pinning more than the cache
 * is refused; pinned data survives eviction pressure and a remount; `free` drops
 * data (pinned only with --force); `ttl` and `--cache-ttl` drop expired data.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { makeFixture } from './mount-fixture.js'
import { MiB, gets, putAll, stats, verify } from './ops-helpers.js'

t.test('pin, free, ttl', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  files.set('p/0.bin', randomBytes(3 * MiB))
  files.set('p/1.bin', randomBytes(3 * MiB))
  for (let i = 0; i < 12; i++) files.set(`other/${i}.bin`, randomBytes(2 * MiB))
  files.set('t/x.bin', randomBytes(100_000))
  await putAll(fx, files)
  await fx.mount(['--cache-size', '16MiB'])

  await t.test('pinning more than the cache is refused', async t => {
    const r = await fx.cli(['pin', `${fx.mountPoint}/other`, `${fx.mountPoint}/p`])
    t.equal(r.code, 1)
    t.equal(r.stderr, 's3cachefs: cannot pin /other /p: 30.0 MiB in 14 files exceeds the cache size (--cache-size 16.0 MiB); nothing was pinned\n')
  })

  await t.test('pinned data survives eviction pressure and a remount', async t => {
    const pin = await fx.cli(['pin', `${fx.mountPoint}/p`])
    t.equal(pin.code, 0, pin.stderr)
    t.match(pin.stdout, /^pinned .*\/p: 6\.0 MiB in 2 files, 0 B of it cached now\n/)
    t.equal((await fx.cli(['load', `${fx.mountPoint}/p`, '--wait'])).code, 0)
    await verify(t, fx, files, 'other/')
    const s = await stats(fx)
    t.ok(s.cache.evictedBlocks > 0, `evicted ${s.cache.evictedBlocks} blocks`)
    t.ok(s.cache.pinnedBytes >= 6 * MiB, 'pinned bytes reported')
    await fx.unmount()
    await fx.mount(['--cache-size', '16MiB'])
    await fx.resetRequests()
    await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    await verify(t, fx, files, 'p/')
    t.equal(await gets(fx), 0, 'pinned files read from the cache after pressure and a remount')
  })

  await t.test('free drops data, pinned only with --force; TTL drops it when it expires', async t => {
    const kept = await fx.cli(['free', `${fx.mountPoint}/p`])
    t.equal(kept.code, 0, kept.stderr)
    t.match(kept.stdout, /^freed 0 B \(0 blocks of 0 files\); kept 6\.0 MiB of pinned data \(--force drops it too\)\n$/)
    const forced = await fx.cli(['free', '--force', `${fx.mountPoint}/p/0.bin`])
    t.match(forced.stdout, /^freed 3\.0 MiB \(3 blocks of 1 files\)\n$/)
    t.match((await fx.cli(['unpin', `${fx.mountPoint}/p`])).stdout, /^unpinned .*\/p \(6\.0 MiB\)\n$/)
    await fx.resetRequests()
    await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    await verify(t, fx, files, 'p/')
    t.equal(await gets(fx), 1, 'only the freed file is fetched again')

    await fx.sh(`cat ${fx.mountPoint}/t/x.bin > /dev/null`)
    await new Promise(res => setTimeout(res, 1200))
    const ttl = await fx.cli(['ttl', `${fx.mountPoint}/t`, '1s'])
    t.equal(ttl.code, 0, ttl.stderr)
    t.match(ttl.stdout, /is dropped 1s after it was fetched; dropped 97\.\d KiB \(1 blocks\) already older/)
    t.equal((await stats(fx)).cache.ttlDroppedBlocks, 1)
    await fx.unmount()
  })

  await t.test('--cache-ttl drops data lazily when read', async t => {
    await fx.mount(['--cache-ttl', '1s'])
    await fx.sh(`cat ${fx.mountPoint}/t/x.bin > /dev/null`)
    await fx.resetRequests()
    await new Promise(res => setTimeout(res, 1300))
    await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    await verify(t, fx, files, 't/')
    t.equal(await gets(fx), 1, 'expired: fetched again')
    await fx.unmount()
  })
})
