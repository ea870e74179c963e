import t from 'tap'
import { mountDevice, mountEntry } from '../../src/fuse/kernel-read-ahead.js'

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '61 22 0:39 / /mnt/data rw,nosuid,nodev,relatime shared:30 - fuse.s3cachefs s3cachefs#b rw,user_id=0,group_id=0',
  '62 22 0:40 / /mnt/with\\040space rw,relatime shared:31 - fuse.s3cachefs s3cachefs#c rw',
  '63 61 0:41 / /mnt/data rw,relatime shared:32 - fuse.s3cachefs s3cachefs#d rw',
  '',
].join('\n')

t.test('mountDevice finds the mount on top at a path, unescaping mountinfo', async t => {
  t.equal(mountDevice(MOUNTINFO, new Set(['/mnt/data'])), '0:41', 'the last mount at a path is the one on top')
  t.equal(mountDevice(MOUNTINFO, new Set(['/mnt/with space'])), '0:40')
  t.equal(mountDevice(MOUNTINFO, new Set(['/mnt'])), undefined)
  t.equal(mountDevice(MOUNTINFO, new Set(['/'])), '8:1')
  t.same(mountEntry(MOUNTINFO, new Set(['/mnt/data'])), { device: '0:41', type: 'fuse.s3cachefs' }, 'with its type, after the separator')
  t.same(mountEntry(MOUNTINFO, new Set(['/'])), { device: '8:1', type: 'ext4' })
})

t.test('mountTableNames: a mount point under a symlinked parent is also named as the kernel records it', async t => {
  const { mkdtemp, mkdir, symlink, realpath } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { mountTableNames } = await import('../../src/util/mount-table-names.js')
  const base = await realpath(await mkdtemp(join(tmpdir(), 'names-')))
  await mkdir(join(base, 'real'))
  await symlink(join(base, 'real'), join(base, 'link'))
  const names = mountTableNames(join(base, 'link', 'mnt'))
  t.ok(names.has(join(base, 'real', 'mnt')), [...names].join(', '))
  t.ok(names.has(join(base, 'link', 'mnt')))
})
