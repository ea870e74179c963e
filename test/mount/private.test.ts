/**
 * Private by default: the cache directory, its files and the log are readable by the
 * mounting user only; with --allow-other the kernel checks modes, so another local
 * user reads the owner's 0644 files but cannot change or delete them.
 */
import t from 'tap'
import { makeFixture, sh } from './mount-fixture.js'

t.test('cache directory, block files and log are private', async t => {
  const fx = await makeFixture(t)
  await fx.put('data/a.bin', 'secret bytes')
  await sh(`mkdir -p ${fx.cacheDir} && chmod 0755 ${fx.cacheDir}`) // as an operator may have left it
  await fx.mount()
  t.equal((await fx.sh(`cat ${fx.mountPoint}/data/a.bin`)).stdout, 'secret bytes')
  await fx.cli(['flush', fx.mountPoint])
  await new Promise(r => setTimeout(r, 300)) // the block write is in the background
  const modes = (await sh(`find ${fx.cacheDir} -printf '%m %y %P\\n'`)).stdout.trim().split('\n')
  const loose = modes.filter(l => {
    const [m, type] = l.split(' ')
    return type === 'd' ? m !== '700' : m !== '600'
  })
  t.same(loose, [], `every directory 0700 and file 0600 (${modes.length} entries)`)
  t.ok(
    modes.some(l => l.endsWith('s3cachefs.log')),
    'the log is among them',
  )
  t.ok(
    modes.some(l => /blocks\/..\/.+\.0$/.test(l)),
    'and the block files',
  )
})

t.test("--allow-other: another user reads but cannot write or delete the owner's files", async t => {
  if ((await sh('command -v setpriv')).code !== 0) {
    t.pass('setpriv (util-linux) is missing', { skip: true })
    return
  }
  const fx = await makeFixture(t)
  await fx.put('shared/readme.txt', 'read me\n')
  await fx.mount(['--allow-other'])
  const m = fx.mountPoint
  await sh(`chmod 755 ${fx.root}`) // the fixture's temporary directory: let 'nobody' reach the mount point
  const asNobody = (cmd: string) => sh(`setpriv --reuid=65534 --regid=65534 --clear-groups bash -c ${JSON.stringify(cmd)}`)
  t.equal((await asNobody(`cat ${m}/shared/readme.txt`)).stdout, 'read me\n', 'reads')
  t.match((await asNobody(`echo more >> ${m}/shared/readme.txt`)).stderr, /Permission denied/, 'cannot append')
  t.match((await asNobody(`truncate -s 0 ${m}/shared/readme.txt`)).stderr, /Permission denied/, 'cannot truncate')
  t.match((await asNobody(`rm -f ${m}/shared/readme.txt`)).stderr, /Permission denied/, 'cannot delete')
  t.match((await asNobody(`touch ${m}/shared/new.txt`)).stderr, /Permission denied/, 'cannot create')
  t.equal((await fx.sh(`cat ${m}/shared/readme.txt`)).stdout, 'read me\n', 'unchanged')
})
