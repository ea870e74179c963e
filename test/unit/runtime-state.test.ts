/**
 * The runtime directory is never another user's or a symlink (a predictable name
 * in /tmp may have been made by someone else), and a recorded pid is signalled
 * only when /proc shows it is our daemon of that mount point.
 */
import { spawn } from 'node:child_process'
import { chown, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { firstUsableDir, isOurDaemon } from '../../src/daemon/runtime-state.js'

t.test("runtime directory candidates: another user's directory and symlinks are skipped", async t => {
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-rt-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const uid = process.getuid?.() ?? 0
  const theirs = join(root, 'theirs')
  await mkdir(theirs)
  await chown(theirs, uid === 0 ? 65534 : uid + 1, 65534).catch(() => t.pass('cannot chown here', { skip: true }))
  const link = join(root, 'link')
  await symlink(root, link)
  const mine = join(root, 'mine')
  await mkdir(mine)
  const absent = join(root, 'absent')
  t.equal(firstUsableDir([theirs, link, mine], uid), mine)
  t.equal(firstUsableDir([theirs, link, absent], uid), absent)
  t.equal(firstUsableDir([theirs, link], uid), undefined)
})

t.test('a recorded pid that is not our daemon of that mount point is not ours', async t => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
  t.teardown(() => {
    sleeper.kill()
  })
  const record = { pid: sleeper.pid as number, mountPoint: '/mnt/x', source: 's3://b', cacheDir: '/c', logFile: '/l', startedAt: '' }
  t.notOk(isOurDaemon(record), 'sleep is not a daemon')
  t.notOk(isOurDaemon({ ...record, pid: 2 ** 22 + 12345 }), 'a gone pid')
  const fake = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'mount', 's3://b', 'x'], { stdio: 'ignore', cwd: '/mnt' })
  t.teardown(() => {
    fake.kill()
  })
  await new Promise(r => setTimeout(r, 200))
  t.ok(isOurDaemon({ ...record, pid: fake.pid as number }), 'mount s3://b x run in /mnt is the daemon of /mnt/x')
  t.notOk(isOurDaemon({ ...record, pid: fake.pid as number, mountPoint: '/mnt/y' }), 'but not of /mnt/y')
})
