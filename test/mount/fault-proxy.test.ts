/**
 * Each fault class through a real mount, with the fault-injecting proxy between
 * the daemon and the local S3 server: what a reader sees. Each case reads files
 * no earlier case cached, so the fault is really met. Listed in docs/SEMANTICS.md.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { corruptBody, startFaultProxy } from '../../tools/local-s3/fault-proxy.js'
import { decodeBlock } from '../../src/cache/block-file-format.js'
import { makeFixture, sh } from './mount-fixture.js'
import { seededRandom } from '../helpers/seeded-random.js'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** The data of every block file in the disk cache. */
async function cachedBlocks(cacheDir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const sub of await readdir(join(cacheDir, 'blocks')).catch(() => [])) {
    for (const f of await readdir(join(cacheDir, 'blocks', sub))) {
      if (f.includes('.tmp')) continue
      const file = await readFile(join(cacheDir, 'blocks', sub, f))
      out.push(decodeBlock(file, file.readUInt32LE(8)))
    }
  }
  return out
}

t.test('fault classes through the proxy', async t => {
  const fx = await makeFixture(t)
  const proxy = await startFaultProxy(fx.server.endpoint, seededRandom(10))
  t.teardown(() => proxy.stop())
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 24; i++) files.set(`f/${i}.bin`, randomBytes(200_000 + i))
  files.set('big/shard.bin', randomBytes(20 * MiB + 3))
  files.set('cold/never-read.bin', randomBytes(1000)) // listed, never opened: not even prefetched
  await Promise.all([...files].map(([k, v]) => fx.put(k, v)))
  await fx.mount(['--endpoint-url', proxy.endpoint, '--metadata-ttl', '2s'])
  await sh(`ls -l ${fx.mountPoint}/f ${fx.mountPoint}/big ${fx.mountPoint}/cold`)
  const check = async (tt: typeof t, keys: string[]) => {
    const r = await sh(`cd ${fx.mountPoint} && sha256sum ${keys.join(' ')}`)
    tt.equal(r.code, 0, r.stderr)
    for (const line of r.stdout.trim().split('\n')) tt.equal(line.slice(0, 64), sha(files.get(line.slice(66)) as Buffer), line.slice(66))
  }

  await t.test('503 SlowDown and 500 on 30 % of GETs: every byte right', async t => {
    proxy.arm({ status: 503, match: 'GET', keyPrefix: 'f/', probability: 0.3, count: 1000 })
    proxy.arm({ status: 500, match: 'GET', keyPrefix: 'f/', probability: 0.3, count: 1000 })
    await check(
      t,
      [0, 1, 2, 3, 4, 5].map(i => `f/${i}.bin`),
    )
    proxy.clear()
  })
  await t.test('a reset before the headers is retried', async t => {
    proxy.arm({ reset: 'connection', match: 'GET', keyPrefix: 'f/6', count: 2 })
    await check(t, ['f/6.bin'])
  })
  await t.test('a reset in the middle of a body is retried (whole objects and ranged parts)', async t => {
    proxy.arm({ body: 'reset', match: 'GET', keyPrefix: 'f/7', count: 2 })
    proxy.arm({ body: 'reset', match: 'rangedGet', keyPrefix: 'big/', count: 2 })
    await check(t, ['f/7.bin', 'big/shard.bin'])
    t.equal(proxy.stats().faulted >= 3, true)
    proxy.clear()
  })
  await t.test('a body shorter than its Content-Length is retried', async t => {
    proxy.arm({ body: 'short', match: 'GET', keyPrefix: 'f/8', count: 2 })
    await check(t, ['f/8.bin'])
  })
  await t.test('a stalled GET delays only its own file', async t => {
    // Held 6 s: another file read in under 4.5 s was read meanwhile (a margin for a loaded machine).
    proxy.arm({ delayMs: 6000, match: 'GET', keyPrefix: 'f/9', count: 1 })
    const t0 = Date.now()
    const stalled = sh(`sha256sum ${fx.mountPoint}/f/9.bin`)
    await new Promise(r => setTimeout(r, 200))
    await check(t, ['f/10.bin'])
    t.ok(Date.now() - t0 < 4500, `another file read meanwhile (${Date.now() - t0} ms)`)
    t.equal((await stalled).stdout.slice(0, 64), sha(files.get('f/9.bin') as Buffer))
  })
  await t.test('another version than asked for (a store ignoring If-Match): ESTALE, never its bytes, nothing cached', async t => {
    proxy.arm({ otherVersion: true, match: 'GET', keyPrefix: 'f/11', count: 1000 })
    const r = await sh(`cat ${fx.mountPoint}/f/11.bin > /dev/null`)
    t.match(r.stderr, /Stale file handle/)
    proxy.clear()
    await check(t, ['f/11.bin'])
  })
  await t.test('a body corrupted in transfer (same length, one bit): never served nor cached; a clean retry serves the right bytes', async t => {
    const f13 = files.get('f/13.bin') as Buffer
    const f14 = files.get('f/14.bin') as Buffer
    const faultedBefore = proxy.stats().faulted
    proxy.arm({ body: 'corrupt', match: 'GET', keyPrefix: 'f/13', count: 1 })
    await check(t, ['f/13.bin']) // the MD5 ETag catches it; the retry is clean
    proxy.arm({ body: 'corrupt', match: 'GET', keyPrefix: 'f/14', count: 1000 })
    const out = join(fx.root, 'got14')
    const r = await sh(`cat ${fx.mountPoint}/f/14.bin > ${out}`)
    t.match(r.stderr, /Input\/output error/, 'corrupt on every attempt: EIO')
    const got = await readFile(out)
    t.notOk(got.length > 0 && corruptBody(f14).subarray(0, got.length).equals(got), `none of the corrupt bytes served (${got.length} bytes read)`)
    const corruptGets = proxy.stats().faulted - faultedBefore
    proxy.clear()
    const forwarded = proxy.stats().forwarded
    await check(t, ['f/14.bin'])
    t.ok(proxy.stats().forwarded > forwarded, 'fetched again after the fault: nothing corrupt had been cached')
    const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { s3: { integrity: { checked: number; corrupt: number } } }
    t.equal(stats.s3.integrity.corrupt, corruptGets, `stats counts every corrupt response (${corruptGets})`)
    t.ok(stats.s3.integrity.checked > corruptGets, `and the clean ones checked (${stats.s3.integrity.checked} in all)`)
    await fx.unmount() // cache writes drained, then the cache is inspected at rest
    const blocks = await cachedBlocks(fx.cacheDir)
    t.notOk(
      blocks.some(b => b.equals(corruptBody(f13)) || b.equals(corruptBody(f14))),
      `no corrupt block among ${blocks.length} cached`,
    )
    t.ok(blocks.some(b => b.equals(f13)) && blocks.some(b => b.equals(f14)), 'the right bytes of both are cached')
    await fx.mount(['--endpoint-url', proxy.endpoint, '--metadata-ttl', '2s'])
    const gets = async () => {
      const r = await fx.requests()
      return r.getObject + r.rangedGet
    }
    const before = await gets()
    await check(t, ['f/13.bin', 'f/14.bin'])
    t.equal(await gets(), before, 'and served from the cache after a remount, no GET')
    const log = await readFile(join(fx.cacheDir, 's3cachefs.log'), 'utf8')
    t.equal(log.split('\n').filter(l => l.includes("failed the store's checksum")).length, 1, `logged once for ${corruptGets} corrupt responses`)
  })
  await t.test('the store down past the metadata TTL: cached files and listings served, uncached ones EIO', async t => {
    await check(t, ['f/12.bin'])
    await new Promise(r => setTimeout(r, 2500)) // past --metadata-ttl 2s
    proxy.arm({ reset: 'connection', count: 1_000_000 })
    const t0 = Date.now()
    const ls = await sh(`ls ${fx.mountPoint}/f | wc -l`)
    t.equal(ls.stdout.trim(), '24', ls.stderr)
    await check(t, ['f/12.bin'])
    const miss = await sh(`cat ${fx.mountPoint}/cold/never-read.bin > /dev/null`)
    t.match(miss.stderr, /Input\/output error|Connection timed out/, 'EIO, or ETIMEDOUT when no answer came')
    t.ok(Date.now() - t0 < 25_000, `answered within the deadline (${Date.now() - t0} ms)`)
    const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { staleIfError: { staleAnswers: number; episodes: number } }
    t.ok(stats.staleIfError.staleAnswers > 0, `${stats.staleIfError.staleAnswers} stale answers`)
    t.equal(stats.staleIfError.episodes, 1)
    proxy.clear()
  })
})
