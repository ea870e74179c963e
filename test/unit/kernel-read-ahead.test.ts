import t from 'tap'
import { mountDevice } from '../../src/fuse/kernel-read-ahead.js'

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '61 22 0:39 / /mnt/data rw,nosuid,nodev,relatime shared:30 - fuse.s3cachefs s3cachefs#b rw,user_id=0,group_id=0',
  '62 22 0:40 / /mnt/with\\040space rw,relatime shared:31 - fuse.s3cachefs s3cachefs#c rw',
  '63 61 0:41 / /mnt/data rw,relatime shared:32 - fuse.s3cachefs s3cachefs#d rw',
  '',
].join('\n')

t.test('mountDevice finds the mount on top at a path, unescaping mountinfo', async t => {
  t.equal(mountDevice(MOUNTINFO, '/mnt/data'), '0:41', 'the last mount at a path is the one on top')
  t.equal(mountDevice(MOUNTINFO, '/mnt/with space'), '0:40')
  t.equal(mountDevice(MOUNTINFO, '/mnt'), undefined)
  t.equal(mountDevice(MOUNTINFO, '/'), '8:1')
})
