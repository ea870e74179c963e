/**
 * A daemon whose mount is released from outside exits (flushing first), in the
 * foreground and in the background; the cache directory's lock is a kernel lock
 * (a second daemon on it is refused, a killed daemon's lock is free at once);
 * `unmount` never signals a recorded pid that is not our daemon; `unmount --force` gives up
 * a flush a stopped daemon never answers and goes on to stop it.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { UNMOUNT_WAIT_MS } from '../../src/config/defaults.js'
import { CLI, daemonPid, ENV, makeFixture, sh } from './mount-fixture.js'

/** Whether SIGTERM waits, undelivered, for process `pid` (a stopped process leaves it pending). */
async function termPending(pid: string): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const mask = /^ShdPnd:\s*([0-9a-f]+)$/m.exec(status)?.[1]
  return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n
}

const mounted = async (mp: string) => (await sh(`grep -c " ${mp} fuse.s3cachefs" /proc/mounts`)).stdout.trim() === '1'

t.test('release from outside, cache lock, pid checks', async t => {
  const fx = await makeFixture(t)
  await fx.put('a.txt', 'A')
  const runtime = join(fx.root, 'run')
  await mkdir(runtime, { mode: 0o700 })
  const env = { S3CACHEFS_RUNTIME_DIR: runtime }

  await t.test('--foreground exits 0 when the mount is released with fusermount -u, after writing what was written', async t => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'mount',
        `s3://${fx.bucket}`,
        fx.mountPoint,
        '--endpoint-url',
        fx.server.endpoint,
        '--cache-dir',
        fx.cacheDir,
        '--foreground',
        '--write-mode',
        'async',
      ],
      { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    t.teardown(() => {
      child.kill('SIGKILL')
    })
    const exited = new Promise<number | null>(r => child.on('exit', code => r(code)))
    for (let i = 0; i < 100 && !(await mounted(fx.mountPoint)); i++) await new Promise(r => setTimeout(r, 100))
    t.equal((await sh(`echo written > ${fx.mountPoint}/w.txt`)).code, 0)
    await new Promise(r => setTimeout(r, 1200)) // a release before the daemon's first look at the table is a lost race we do not test
    t.equal((await sh(`fusermount -u ${fx.mountPoint}`)).code, 0)
    const t0 = Date.now()
    t.equal(await exited, 0, 'exit 0')
    t.ok(Date.now() - t0 < 10_000, `exited ${Date.now() - t0} ms after the release`)
    t.equal((await sh(`grep -c " ${fx.mountPoint} " /proc/mounts`)).stdout.trim(), '0')
    const listed = await fx.server.stats()
    t.ok(listed.requests.putObject + listed.requests.multipart >= 1, 'the written file was uploaded before exiting')
  })

  await t.test('a background daemon exits when its mount is released with umount', async t => {
    await fx.mount([], env)
    const pid = await daemonPid(fx.bucket, fx.mountPoint)
    t.ok(pid, 'daemon found')
    t.equal((await sh(`umount ${fx.mountPoint}`)).code, 0)
    let alive = true
    for (let i = 0; i < 100 && alive; i++) {
      alive = (await sh(`kill -0 ${pid}`)).code === 0
      if (alive) await new Promise(r => setTimeout(r, 100))
    }
    t.notOk(alive, 'the daemon exited')
  })

  await t.test('the cache directory lock: a second daemon is refused; a killed daemon leaves it free', async t => {
    await fx.mount([], env)
    const other = join(fx.root, 'mnt2')
    await mkdir(other)
    const second = await fx.cli(['mount', `s3://${fx.bucket}`, other, '--endpoint-url', fx.server.endpoint, '--cache-dir', fx.cacheDir], env)
    t.equal(second.code, 2, second.stderr)
    t.match(second.stderr, /is in use by another s3cachefs daemon \(pid \d+\)/)
    const pid = await daemonPid(fx.bucket, fx.mountPoint)
    await sh(`kill -9 ${pid}; sleep 0.3; fusermount -uz ${fx.mountPoint}`)
    const third = await fx.cli(['mount', `s3://${fx.bucket}`, other, '--endpoint-url', fx.server.endpoint, '--cache-dir', fx.cacheDir], env)
    t.equal(third.code, 0, third.stderr)
    t.equal((await sh(`cat ${other}/a.txt`)).stdout, 'A')
    t.equal((await fx.cli(['unmount', other], env)).code, 0)
  })

  await t.test('unmount --force gives up a flush the daemon does not answer, then stops the daemon', async t => {
    await fx.mount([], env)
    const pid = await daemonPid(fx.bucket, fx.mountPoint)
    t.ok(pid, 'daemon found')
    // Stopped, the daemon accepts the flush request on its socket and never answers it.
    await sh(`kill -STOP ${pid}`)
    t.teardown(() => sh(`kill -CONT ${pid}`))
    const unmounting = fx.cli(['unmount', fx.mountPoint, '--force'], env)
    let sent = false
    for (const end = Date.now() + UNMOUNT_WAIT_MS + 20_000; !sent && Date.now() < end;) {
      await new Promise(r => setTimeout(r, 500))
      sent = await termPending(pid)
    }
    t.ok(sent, `SIGTERM sent within ${UNMOUNT_WAIT_MS / 1000} s of the flush (it waits, pending, for the stopped daemon)`)
    await sh(`kill -CONT ${pid}`)
    const r = await unmounting
    t.equal(r.code, 0, r.stderr)
    t.notOk(await mounted(fx.mountPoint), 'unmounted')
    let alive = true
    for (let i = 0; i < 50 && alive; i++) {
      alive = (await sh(`kill -0 ${pid}`)).code === 0
      if (alive) await new Promise(r => setTimeout(r, 100))
    }
    t.notOk(alive, 'the daemon exited')
  })

  await t.test('unmount never signals a recorded pid that is not our daemon', async t => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
    t.teardown(() => {
      sleeper.kill()
    })
    const id = createHash('sha256').update(fx.mountPoint).digest('hex').slice(0, 16)
    await writeFile(
      join(runtime, `${id}.json`),
      JSON.stringify({ pid: sleeper.pid, mountPoint: fx.mountPoint, source: 's3://x', cacheDir: '/c', logFile: '/l', startedAt: '' }),
    )
    const r = await fx.cli(['unmount', fx.mountPoint, '--force'], env)
    t.not(r.code, 0)
    t.match(r.stderr, /is not mounted/)
    t.equal(sleeper.exitCode, null, 'sleep still runs')
    t.equal((await sh(`kill -0 ${sleeper.pid}`)).code, 0)
    await t.rejects(readFile(join(runtime, `${id}.json`)), 'the stale record is removed')
  })
})
