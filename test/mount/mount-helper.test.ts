/**
 * deploy/mount.s3cachefs for real: `mount -t s3cachefs` and an fstab line (read with
 * `mount -T FILE`, so the machine's /etc/fstab is left alone) mount a bucket that reads
 * byte-exact. Needs root; the helper is linked as /sbin/mount.s3cachefs for the test
 * (and removed after) unless one is installed already.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, readlink, symlink, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import t, { type Test } from 'tap'
import { CLI, ENV, makeFixture, runCli, sh } from './mount-fixture.js'

const HELPER = resolve(import.meta.dirname, '../../deploy/mount.s3cachefs')
const INSTALLED = '/sbin/mount.s3cachefs'
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const env = Object.entries({ ...ENV, S3CACHEFS_BIN: CLI })
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')

async function installHelper(t: Test): Promise<boolean> {
  if (process.getuid?.() !== 0) return false
  const existing = await lstat(INSTALLED).catch(() => undefined)
  if (existing !== undefined) return (existing.isSymbolicLink() && (await readlink(INSTALLED)).endsWith('mount.s3cachefs')) || existing.isFile()
  await symlink(HELPER, INSTALLED)
  t.teardown(() => unlink(INSTALLED).catch(() => {}))
  return true
}

t.test('mount -t s3cachefs and an fstab line', async t => {
  if (!(await installHelper(t))) {
    t.pass('needs root and a free /sbin/mount.s3cachefs', { skip: true })
    return
  }
  await chmod(CLI, 0o755) // as scripts/setup.sh leaves it: mount(8) runs it through the helper
  const fx = await makeFixture(t)
  const body = randomBytes(200_000)
  await fx.put('dir/file.bin', body)
  const opts = `endpoint-url=${fx.server.endpoint},cache-dir=${fx.cacheDir},log_level=info,_netdev,nofail,read-only`

  const m = await sh(`env ${env} mount -t s3cachefs s3://${fx.bucket} ${fx.mountPoint} -o ${opts}`)
  t.equal(m.code, 0, m.stderr)
  t.teardown(async () => {
    await runCli(['unmount', fx.mountPoint, '--force'])
    await sh(`fusermount -uz ${fx.mountPoint} 2>/dev/null; true`)
  })
  const line = (await sh(`grep " ${fx.mountPoint} " /proc/mounts`)).stdout
  t.match(line, / fuse(\.\S+)? /, `a FUSE mount: ${line.trim()}`)
  t.equal((await sh(`sha256sum < ${fx.mountPoint}/dir/file.bin`)).stdout.slice(0, 64), sha(body), 'byte-exact through mount -t')
  t.not((await sh(`touch ${fx.mountPoint}/dir/new`)).code, 0, 'ro/read-only passed through')
  t.equal((await runCli(['unmount', fx.mountPoint])).code, 0)

  const fstab = join(fx.root, 'fstab')
  await mkdir(join(fx.root, 'mnt2'))
  const mp2 = join(fx.root, 'mnt2')
  await writeFile(fstab, `# a test fstab\ns3://${fx.bucket}/dir  ${mp2}  s3cachefs  ${opts.replace('read-only', 'ro')},noauto  0 0\n`)
  const f = await sh(`env ${env} mount -T ${fstab} ${mp2}`)
  t.equal(f.code, 0, f.stderr)
  t.teardown(async () => {
    await runCli(['unmount', mp2, '--force'])
    await sh(`fusermount -uz ${mp2} 2>/dev/null; true`)
  })
  t.equal((await sh(`sha256sum < ${mp2}/file.bin`)).stdout.slice(0, 64), sha(body), 'byte-exact through an fstab line (prefix mount)')
  t.equal((await runCli(['unmount', mp2])).code, 0)
  t.equal((await sh(`env ${env} mount -t s3cachefs s3://${fx.bucket} ${mp2} -o bogus-flag`)).code === 0, false, 'an unknown option fails the mount')
})
