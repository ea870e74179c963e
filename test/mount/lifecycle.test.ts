/**
 * Mount lifecycle and scoping: --foreground stays attached and unmounts cleanly on
 * SIGTERM; a prefix mount sees only its prefix; writes are refused with EROFS
 * (the write path is not built yet; see docs/SEMANTICS.md).
 */
import { spawn } from 'node:child_process'
import t from 'tap'
import { CLI, ENV, makeFixture, sh } from './mount-fixture.js'

t.test('lifecycle', async t => {
  const fx = await makeFixture(t)
  await fx.put('datasets/imagenet/train/a.jpg', 'A')
  await fx.put('datasets/other/b.jpg', 'B')
  await fx.put('top.txt', 'T')

  await t.test('--foreground stays attached and unmounts on SIGTERM', async t => {
    const child = spawn(
      process.execPath,
      [CLI, 'mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--cache-dir', fx.cacheDir, '--foreground'],
      { env: { ...process.env, ...ENV }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    t.teardown(() => {
      child.kill('SIGKILL')
    })
    const exited = new Promise<number | null>(r => child.on('exit', code => r(code)))
    for (let i = 0; i < 100; i++) {
      if ((await sh(`grep -c " ${fx.mountPoint} fuse.s3cachefs" /proc/mounts`)).stdout.trim() === '1') break
      await new Promise(r => setTimeout(r, 100))
    }
    t.equal((await sh(`cat ${fx.mountPoint}/top.txt`)).stdout, 'T')
    child.kill('SIGTERM')
    t.equal(await exited, 0, 'exit 0')
    t.equal((await sh(`grep -c " ${fx.mountPoint} " /proc/mounts`)).stdout.trim(), '0', 'unmounted')
  })

  await t.test('a prefix mount sees only its prefix', async t => {
    const r = await fx.cli(['mount', `s3://${fx.bucket}/datasets/imagenet`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--cache-dir', fx.cacheDir])
    t.equal(r.code, 0, r.stderr)
    t.equal((await sh(`cd ${fx.mountPoint} && find . | sort`)).stdout, '.\n./train\n./train/a.jpg\n')
    t.equal((await sh(`cat ${fx.mountPoint}/train/a.jpg`)).stdout, 'A')
    t.match((await sh(`cat ${fx.mountPoint}/top.txt`)).stderr, /No such file/)
    await fx.unmount()
  })

  await t.test('writes are refused with EROFS and leave the bucket untouched', async t => {
    await fx.mount(['--read-only'])
    t.match((await sh(`echo hi > ${fx.mountPoint}/top.txt`)).stderr, /Read-only file system/)
    t.match((await sh(`touch ${fx.mountPoint}/new.txt`)).stderr, /Read-only file system/)
    t.match((await sh(`mkdir ${fx.mountPoint}/d`)).stderr, /Read-only file system/)
    t.match((await sh(`rm ${fx.mountPoint}/top.txt`)).stderr, /Read-only file system/)
    t.match((await sh(`mv ${fx.mountPoint}/top.txt ${fx.mountPoint}/x.txt`)).stderr, /Read-only file system/)
    t.equal((await sh(`cat ${fx.mountPoint}/top.txt`)).stdout, 'T')
    await fx.unmount()
  })
})
