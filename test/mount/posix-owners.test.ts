/**
 * Owners and times through a real mount, as the caller sees them (the binding hands us the
 * calling process's uid/gid from fuse_get_context()):
 * - what another local user creates (file, directory, symlink, FIFO) belongs to that user,
 *   in stat and in the bucket's s3fs headers;
 * - chown/chmod/utimens follow Linux's rules for a non-root caller, with the kernel's
 *   permission checks (default) and without them (--no-default-permissions: our own checks);
 * - utimens sets both times it is given (the binding once passed the access time twice);
 *   a non-owner who may write touches a file to "now" (sent by the kernel as the current time).
 *   libfuse 2.9 calls utimens only when both times are set: `touch -a`/`touch -m` alone
 *   never reach the daemon (docs/SEMANTICS.md).
 * Commands run as 'nobody' (65534) with setpriv, from child processes.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { makeFixture, sh, type Fixture } from './mount-fixture.js'

const NOBODY = 65534

async function headers(fx: Fixture, key: string): Promise<Record<string, string>> {
  return (await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key }))).Metadata ?? {}
}

function asNobody(cmd: string, groups = '--clear-groups') {
  return sh(`setpriv --reuid=${NOBODY} --regid=${NOBODY} ${groups} bash -c ${JSON.stringify(cmd)}`)
}

for (const mode of ['default_permissions', 'no default_permissions'] as const) {
  t.test(`owners of new objects and chown/chmod/utimens rules (${mode})`, async t => {
    if ((await sh('command -v setpriv')).code !== 0) {
      t.pass('setpriv (util-linux) is missing', { skip: true })
      return
    }
    const fx = await makeFixture(t)
    await fx.mount(['--allow-other', '--posix-metadata', 'head', ...(mode === 'default_permissions' ? [] : ['--no-default-permissions'])])
    const m = fx.mountPoint
    await sh(`chmod 755 ${fx.root} && mkdir -m 1777 ${m}/pub && echo root > ${m}/pub/roots.txt`)

    await t.test('what nobody creates belongs to nobody', async t => {
      const r = await asNobody(
        `cd ${m}/pub && echo x > f && mkdir d && ln -s f l && mkfifo p && stat -c '%u:%g' f d p && stat -c '%u:%g' -L l && stat -c '%u:%g' l`,
      )
      t.equal(r.code, 0, r.stderr)
      t.equal(r.stdout, `${NOBODY}:${NOBODY}\n`.repeat(5))
      for (const key of ['pub/f', 'pub/d/', 'pub/l', 'pub/p']) {
        const h = await headers(fx, key)
        t.same([h.uid, h.gid], [String(NOBODY), String(NOBODY)], `${key} in the bucket`)
      }
      const dir = await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: 'pub/d/' }))
      t.equal(dir.ContentType, 'application/x-directory', "a directory marker has s3fs's Content-Type")
    })

    await t.test('a non-owner may not chmod, chown or set explicit times; the owner may not give a file away', async t => {
      t.match((await asNobody(`chmod 600 ${m}/pub/roots.txt`)).stderr, /not permitted/)
      t.match((await asNobody(`chown ${NOBODY} ${m}/pub/roots.txt`)).stderr, /not permitted/)
      t.match((await asNobody(`python3 -c 'import os; os.utime("${m}/pub/roots.txt", (1, 2))'`)).stderr, /PermissionError/, 'explicit times')
      t.match((await asNobody(`chown 0 ${m}/pub/f`)).stderr, /not permitted/, 'the owner gives it away')
      t.match((await asNobody(`chgrp 0 ${m}/pub/f`)).stderr, /not permitted/, 'a group the owner is not in')
      t.equal((await asNobody(`chmod 640 ${m}/pub/f && chgrp ${NOBODY} ${m}/pub/f`)).code, 0, 'the owner chmods, and chgrps to its own group')
      t.equal((await sh(`chown 123:456 ${m}/pub/f`)).code, 0, 'root gives it away')
      t.same((await fx.sh(`stat -c '%u:%g %a' ${m}/pub/f ${m}/pub/roots.txt`)).stdout, `123:456 640\n0:0 644\n`)
      // The kernel sends touch's "now" as the current time: it must not count as explicit times.
      await sh(`echo w > ${m}/pub/shared && chmod 666 ${m}/pub/shared && touch -d @1500000000 ${m}/pub/shared`)
      const touched = await asNobody(`touch ${m}/pub/shared && stat -c %Y ${m}/pub/shared`)
      t.equal(touched.code, 0, `a writer who is not the owner touches to now: ${touched.stderr}`)
      t.ok(Math.abs(Number(touched.stdout) - Date.now() / 1000) < 60, `the mtime is now: ${touched.stdout}`)
      t.match((await asNobody(`touch -d @1500000000 ${m}/pub/shared`)).stderr, /not permitted/, 'but not to another time')
    })

    await t.test('a non-owner is held to the mode bits, search permission and the sticky bit (the kernel checks, or we do)', async t => {
      await sh(
        `cd ${m} && mkdir -m 700 private && echo s > private/s && mkdir -m 755 ro && echo r > ro/r && echo g > team && chown 0:4242 team && chmod 660 team`,
      )
      const denied = /Permission denied|PermissionError/
      t.match((await asNobody(`echo x >> ${m}/pub/roots.txt`)).stderr, denied, "append to root's 0644 file")
      t.match((await asNobody(`truncate -s 0 ${m}/pub/roots.txt`)).stderr, denied, "truncate root's 0644 file")
      t.match((await asNobody(`rm -f ${m}/pub/roots.txt`)).stderr, /not permitted/, "remove root's file from a sticky directory")
      t.equal((await asNobody(`cat ${m}/pub/roots.txt`)).stdout, 'root\n', 'read it')
      t.match((await asNobody(`cat ${m}/private/s`)).stderr, denied, 'a file below a 0700 directory')
      t.match((await asNobody(`ls ${m}/private`)).stderr, denied, 'list a 0700 directory')
      t.match((await asNobody(`touch ${m}/ro/new`)).stderr, denied, 'create in a 0755 directory')
      t.match((await asNobody(`rm -f ${m}/ro/r`)).stderr, denied, 'remove from a 0755 directory')
      t.match((await asNobody(`mkdir ${m}/ro/d`)).stderr, denied, 'mkdir in a 0755 directory')
      t.match((await asNobody(`echo x > ${m}/pub/mv && mv ${m}/pub/mv ${m}/ro/mv`)).stderr, denied, 'rename into a 0755 directory')
      const access = `python3 -c 'import os; print(os.access("${m}/pub/roots.txt", os.R_OK), os.access("${m}/pub/roots.txt", os.W_OK), os.access("${m}/team", os.W_OK))'`
      t.equal((await asNobody(access)).stdout, 'True False False\n', 'access(2)')
      t.equal((await asNobody(access, '--groups=4242')).stdout, 'True False True\n', 'access(2) with a supplementary group')
      t.equal((await asNobody(`echo y >> ${m}/team`, '--groups=4242')).code, 0, 'write as a member of the group')
      t.match((await asNobody(`echo y >> ${m}/team`)).stderr, denied, 'not a member')
      t.equal((await fx.sh(`cat ${m}/pub/roots.txt ${m}/ro/r ${m}/team`)).stdout, 'root\nr\ng\ny\n', 'nothing else changed')
    })

    await t.test('utimens sets atime and mtime each to its own value', async t => {
      const r = await fx.sh(`cd ${m} && echo t > times && python3 -c 'import os; os.utime("times", (1400000000, 1500000000))' && stat -c '%X %Y' times`)
      t.equal(r.stdout, '1400000000 1500000000\n', r.stderr)
      const h = await headers(fx, 'times')
      t.same([h.atime?.split('.')[0], h.mtime?.split('.')[0]], ['1400000000', '1500000000'])
    })
  })
}
