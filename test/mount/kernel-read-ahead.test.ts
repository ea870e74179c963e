/**
 * The kernel sizes its FUSE read requests by the mount's read-ahead window: at its default
 * of 128 KiB a sequential reader cost the daemon one request (a hop from a FUSE thread to the
 * event loop and back) per 128 KiB. The binding runs on libfuse 3, which takes requests of up
 * to 1 MiB, and the daemon (as root) sets the mount's window to `--kernel-read-ahead` (1 MiB by
 * default). Proven by counting the reads the daemon answered and the bytes they asked for
 * (`stats --json`: fuse.reads, fuse.readBytes) for a cold `dd bs=1M` of an 8 MiB file, with
 * the default and with `--kernel-read-ahead 0`, and by the window sysfs shows for the mount.
 * The bytes read are checked too.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { makeFixture, type Fixture } from './mount-fixture.js'
import { mountDevice } from '../../src/fuse/kernel-read-ahead.js'
import { mountTableNames } from '../../src/util/mount-table-names.js'
import { seededRandom } from '../helpers/seeded-random.js'

const SIZE = 8 * 1024 * 1024

async function window(fx: Fixture): Promise<number> {
  const device = mountDevice(await readFile('/proc/self/mountinfo', 'utf8'), mountTableNames(fx.mountPoint))
  if (device === undefined) throw new Error(`no mount at ${fx.mountPoint}`)
  return Number((await readFile(`/sys/class/bdi/${device}/read_ahead_kb`, 'utf8')).trim())
}

async function coldRead(fx: Fixture, key: string): Promise<{ md5: string; reads: number; readBytes: number }> {
  const md5 = await fx.sh(`dd if=${fx.mountPoint}/${key} bs=1M status=none | md5sum | cut -d' ' -f1`)
  const s = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { fuse?: { reads: number; readBytes: number } }
  if (s.fuse === undefined) throw new Error('stats --json has no fuse figures')
  return { md5: md5.stdout.trim(), reads: s.fuse.reads, readBytes: s.fuse.readBytes }
}

const notRoot = process.getuid?.() !== 0 ? 'only root may set a mount read-ahead window' : false

t.test('reads reach the daemon as 1 MiB requests with the default window, 128 KiB ones with the kernel default', { skip: notRoot }, async t => {
  const fx = await makeFixture(t)
  const rnd = seededRandom(11)
  const body = Buffer.alloc(SIZE)
  for (let i = 0; i < SIZE; i += 4) body.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i)
  const want = createHash('md5').update(body).digest('hex')
  await fx.put('a.bin', body)
  await fx.put('b.bin', body)

  await fx.mount(['--prefetch-after', 'off'])
  t.equal(await window(fx), 1024, "the mount's read-ahead window is 1 MiB")
  const wide = await coldRead(fx, 'a.bin')
  t.equal(wide.md5, want, 'the bytes read are the object')
  t.comment(`1 MiB window: ${wide.reads} reads, ${wide.readBytes} bytes`)
  t.ok(wide.readBytes >= SIZE, 'every byte was asked for')
  t.ok(wide.reads <= 12, `${wide.reads} reads for 8 MiB (at most 12: 1 MiB each, and a few smaller ones at the start)`)
  await fx.unmount()

  await fx.mount(['--prefetch-after', 'off', '--kernel-read-ahead', '0'])
  t.equal(await window(fx), 128, "--kernel-read-ahead 0 leaves the kernel's 128 KiB")
  const narrow = await coldRead(fx, 'b.bin')
  t.equal(narrow.md5, want, 'the bytes read are the object')
  t.comment(`kernel default: ${narrow.reads} reads, ${narrow.readBytes} bytes`)
  t.ok(narrow.reads >= 64, `${narrow.reads} reads for 8 MiB (128 KiB each)`)
})

t.test('a bad --kernel-read-ahead is refused with one line', async t => {
  const fx = await makeFixture(t)
  const r = await fx.cli(['mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--kernel-read-ahead', '1000'])
  t.equal(r.code, 2)
  t.match(r.stderr, /--kernel-read-ahead: '1000' must be whole KiB/)
  t.equal(r.stderr.trim().split('\n').length, 1)
})
