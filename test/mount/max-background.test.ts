/**
 * The kernel keeps at most `max_background` of a FUSE mount's background requests (read-ahead
 * reads, releases) in flight, and counts the mount congested at `congestion_threshold`, where
 * read-ahead drops its asynchronous part. At the kernel's own 12 and 9, a warm epoch of small
 * files read by 16 threads asked for 1.8 READs per file instead of one (docs/ARCHITECTURE.md,
 * session 24). The daemon answers INIT with `--fuse-max-background` (64 by default) and three
 * quarters of it; the kernel shows what it took under /sys/fs/fuse/connections (fusectl).
 */
import t from 'tap'
import { makeFixture } from './mount-fixture.js'
import { backgroundBounds } from '../../tools/bench/util/fuse-connection.js'

const notRoot = process.getuid?.() !== 0 ? 'fusectl is mounted and read by root' : false

t.test("the mount's background bound is 64 (congested at 48) by default, the kernel's 12 with 0, and what is asked", { skip: notRoot }, async t => {
  const fx = await makeFixture(t)
  await fx.put('a.txt', Buffer.from('a'))

  await fx.mount([])
  t.same(await backgroundBounds(fx.mountPoint), { max: 64, congested: 48 }, 'the default')
  t.equal((await fx.sh(`cat ${fx.mountPoint}/a.txt`)).stdout, 'a', 'the mount reads')
  await fx.unmount()

  await fx.mount(['--fuse-max-background', '0'])
  t.same(await backgroundBounds(fx.mountPoint), { max: 12, congested: 9 }, "0 leaves the kernel's")
  await fx.unmount()

  await fx.mount(['--fuse-max-background', '20'])
  t.same(await backgroundBounds(fx.mountPoint), { max: 20, congested: 15 }, 'as asked, congested at three quarters')
  await fx.unmount()

  await fx.mount(['--fuse-max-background', '1'])
  t.same(await backgroundBounds(fx.mountPoint), { max: 1, congested: 1 }, "congested at 1 at least, not at the kernel's 9")
})

t.test('a bad --fuse-max-background is refused with one line', async t => {
  const fx = await makeFixture(t)
  const r = await fx.cli(['mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--fuse-max-background', '64k'])
  t.equal(r.code, 2)
  t.match(r.stderr, /--fuse-max-background: must be a whole number from 0 to 65535 \(got '64k'\)/)
  t.equal(r.stderr.trim().split('\n').length, 1)
})
