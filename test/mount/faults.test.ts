/**
 * A misbehaving store through a real mount: transient 503s and dropped connections
 * are retried invisibly; persistent failures surface as EIO, promptly, and the
 * mount keeps working once the store recovers. A killed daemon leaves a mount that
 * `unmount` still cleans up.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { daemonPid, makeFixture, sh } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('faults', async t => {
  const fx = await makeFixture(t)
  const files = Array.from({ length: 6 }, () => randomBytes(150_000))
  await Promise.all(files.map((f, i) => fx.put(`f/${i}.bin`, f)))
  await fx.mount()
  await sh(`ls -l ${fx.mountPoint}/f`)

  await t.test('transient 503 SlowDown on GET is retried', async t => {
    await fx.server.injectFault({ status: 503, match: 'GET', keyPrefix: 'f/0', count: 2 })
    const r = await sh(`sha256sum ${fx.mountPoint}/f/0.bin`)
    t.equal(r.stdout.slice(0, 64), sha(files[0] as Buffer))
  })
  await t.test('a dropped connection is retried', async t => {
    await fx.server.injectFault({ reset: 'connection', match: 'GET', keyPrefix: 'f/1', count: 1 })
    const r = await sh(`sha256sum ${fx.mountPoint}/f/1.bin`)
    t.equal(r.stdout.slice(0, 64), sha(files[1] as Buffer))
  })
  await t.test('persistent 500s give EIO quickly, then the file reads once the store recovers', async t => {
    await fx.server.injectFault({ status: 500, match: 'GET', keyPrefix: 'f/2', count: 1000 })
    const t0 = Date.now()
    const r = await sh(`cat ${fx.mountPoint}/f/2.bin > /dev/null`)
    t.match(r.stderr, /Input\/output error/)
    t.ok(Date.now() - t0 < 15_000, `answered in ${Date.now() - t0} ms`)
    await fx.server.clearFaults()
    const ok = await sh(`sha256sum ${fx.mountPoint}/f/2.bin`)
    t.equal(ok.stdout.slice(0, 64), sha(files[2] as Buffer))
  })
  await t.test('a killed daemon leaves a dead mount that unmount cleans up', async t => {
    const pid = await daemonPid(fx.bucket, fx.mountPoint)
    t.ok(pid, 'daemon found')
    await sh(`kill -9 ${pid}`)
    await new Promise(r => setTimeout(r, 300))
    const dead = await sh(`ls ${fx.mountPoint}`)
    t.match(dead.stderr, /Transport endpoint is not connected/)
    const r = await fx.cli(['unmount', fx.mountPoint])
    t.equal(r.code, 0, r.stderr)
    t.equal((await sh(`grep -c " ${fx.mountPoint} " /proc/mounts`)).stdout.trim(), '0')
    await fx.mount()
    t.equal((await sh(`cat ${fx.mountPoint}/f/3.bin | sha256sum`)).stdout.slice(0, 64), sha(files[3] as Buffer), 'mounts again after the crash')
  })
})
