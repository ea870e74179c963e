/**
 * The cache disk fuller than --cache-size assumed: readers never see it (every
 * byte right, from S3), the bound is lowered once for the episode from statfs
 * (logged once), and restored when space returns; a block whose write failed leaves no
 * partial file behind.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makeFixture, sh } from './mount-fixture.js'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
interface CacheStats {
  cache: { usedBytes: number; maxBytes: number; diskFull: boolean; diskFullEpisodes: number; writeErrors: number }
}

// Block files are written by the binding in one step (direct reads on, the default) or through fs.
for (const flags of [[], ['--no-direct-reads']]) {
  t.test(`cache disk full${flags.length > 0 ? ` (${flags.join(' ')})` : ''}`, async t => {
    const fx = await makeFixture(t)
    const tiny = join(fx.root, 'tiny')
    await mkdir(tiny)
    if ((await sh(`mount -t tmpfs -o size=100m tmpfs ${tiny}`)).code !== 0) {
      t.pass('cannot mount a tmpfs here to fill a disk', { skip: true })
      return
    }
    const files = Array.from({ length: 12 }, () => randomBytes(4 * MiB))
    await Promise.all(files.map((f, i) => fx.put(`d/${i}.bin`, f)))
    const cacheDir = join(tiny, 'cache')
    const logFile = join(fx.root, 'daemon.log')
    await fx.mount(['--cache-dir', cacheDir, '--cache-size', '80MiB', '--log-file', logFile, ...flags])
    t.teardown(async () => {
      await fx.cli(['unmount', fx.mountPoint, '--force'])
      await sh(`umount ${tiny}`)
    })
    await sh(`head -c ${70 * MiB} /dev/zero > ${tiny}/filler`)
    const stats = async () => JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as CacheStats

    const r = await sh(`cd ${fx.mountPoint}/d && sha256sum *`)
    t.equal(r.code, 0, r.stderr)
    for (const line of r.stdout.trim().split('\n')) t.equal(line.slice(0, 64), sha(files[Number(line.slice(66).split('.')[0])] as Buffer), line.slice(66))
    let s = await stats()
    for (let i = 0; i < 50 && !s.cache.diskFull; i++) {
      await new Promise(res => setTimeout(res, 100))
      s = await stats()
    }
    t.ok(s.cache.diskFull, 'in a disk-full episode')
    t.equal(s.cache.diskFullEpisodes, 1, 'one episode however many writes failed')
    t.ok(s.cache.maxBytes < 80 * MiB && s.cache.maxBytes > 0, `bound lowered to ${(s.cache.maxBytes / MiB).toFixed(1)} MiB, not to nothing`)
    // Eviction down to the lowered bound runs after the failed write that lowered it: wait for it (5 s at most).
    for (let i = 0; i < 50 && s.cache.usedBytes > s.cache.maxBytes; i++) {
      await new Promise(res => setTimeout(res, 100))
      s = await stats()
    }
    t.ok(s.cache.usedBytes <= s.cache.maxBytes, `and kept (${s.cache.usedBytes} of ${s.cache.maxBytes} bytes)`)
    // A block whose write failed leaves no partial file behind to hold the space.
    t.same(await readdir(join(cacheDir, 'tmp')), [], 'no partial block file left in tmp/')

    await sh(`rm ${tiny}/filler`)
    for (let i = 0; i < 100 && s.cache.diskFull; i++) {
      await new Promise(res => setTimeout(res, 100))
      s = await stats()
    }
    t.notOk(s.cache.diskFull, 'episode over once space returned')
    t.equal(s.cache.maxBytes, 80 * MiB, 'bound restored to --cache-size')
    const log = await readFile(logFile, 'utf8')
    t.equal(log.split('\n').filter(l => l.includes('cache disk full')).length, 1, 'logged once')
    t.equal(log.split('\n').filter(l => l.includes('cache disk has room again')).length, 1)
  })
}
