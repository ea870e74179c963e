/**
 * The disk cache through a real mount: it survives remounts (zero GETs the second
 * time), stays under --cache-size, detects a corrupted block and refetches it, and
 * never serves stale bytes after an out-of-band overwrite once the TTL has passed.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024

async function blockFiles(cacheDir: string): Promise<string[]> {
  const out: string[] = []
  for (const sub of await readdir(join(cacheDir, 'blocks'))) {
    for (const f of await readdir(join(cacheDir, 'blocks', sub))) out.push(join(cacheDir, 'blocks', sub, f))
  }
  return out
}

t.test('remount serves everything from the disk cache with zero GETs', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 60; i++) files.set(`data/${i}.jpg`, randomBytes(30_000 + i * 1000))
  files.set('data/shard.bin', randomBytes(24 * MiB + 17))
  await Promise.all([...files].map(([k, v]) => fx.put(k, v)))
  await fx.mount()
  const first = await fx.sh(`cd ${fx.mountPoint}/data && sha256sum *`)
  t.equal(first.code, 0, first.stderr)
  await fx.unmount()

  await fx.resetRequests()
  await fx.mount()
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  const second = await fx.sh(`cd ${fx.mountPoint}/data && sha256sum *`)
  for (const line of second.stdout.trim().split('\n')) {
    t.equal(line.slice(0, 64), sha(files.get(`data/${line.slice(66)}`) as Buffer), line.slice(66))
  }
  const req = await fx.requests()
  t.equal(req.getObject + req.rangedGet, 0, 'no GET after remount')
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { reads: { hitRatio: number; blocksFromStore: number } }
  t.equal(stats.reads.hitRatio, 1, 'hit ratio 100%')
  t.equal(stats.reads.blocksFromStore, 0)
})

t.test('eviction keeps the cache under --cache-size', async t => {
  const fx = await makeFixture(t)
  for (let i = 0; i < 6; i++) await fx.put(`big/${i}.bin`, randomBytes(8 * MiB))
  await fx.mount(['--cache-size', '20MiB'])
  const r = await fx.sh(`cat ${fx.mountPoint}/big/* | wc -c`)
  t.equal(r.stdout.trim(), String(48 * MiB))
  await fx.unmount() // waits for pending block writes
  const sizes = await Promise.all((await blockFiles(fx.cacheDir)).map(async f => (await readFile(f)).length))
  const total = sizes.reduce((a, b) => a + b, 0)
  t.ok(total <= 20 * MiB, `cache holds ${total} bytes`)
  t.ok(total >= 10 * MiB, 'and is still used')
})

t.test('a corrupted cache block is detected and refetched', async t => {
  const fx = await makeFixture(t)
  const data = randomBytes(200_000)
  await fx.put('c.bin', data)
  await fx.mount()
  await fx.sh(`cat ${fx.mountPoint}/c.bin > /dev/null`)
  await fx.unmount()
  const [file] = await blockFiles(fx.cacheDir)
  const bytes = await readFile(file as string)
  bytes[5000]! ^= 0x55
  await writeFile(file as string, bytes)
  await fx.resetRequests()
  await fx.mount()
  const r = await fx.sh(`sha256sum ${fx.mountPoint}/c.bin`)
  t.equal(r.stdout.slice(0, 64), sha(data), 'correct bytes, not the corrupted ones')
  const req = await fx.requests()
  t.equal(req.getObject + req.rangedGet, 1, 'refetched once')
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { cache: { corruptBlocks: number } }
  t.equal(stats.cache.corruptBlocks, 1)
})

t.test('out-of-band changes are seen after the metadata TTL', async t => {
  const fx = await makeFixture(t)
  await fx.put('o.txt', 'version one\n')
  await fx.put('gone.txt', 'soon deleted\n')
  await fx.mount(['--metadata-ttl', '1s', '--negative-ttl', '1s'])
  t.equal((await fx.sh(`cat ${fx.mountPoint}/o.txt`)).stdout, 'version one\n')
  t.equal((await fx.sh(`cat ${fx.mountPoint}/gone.txt`)).stdout, 'soon deleted\n')
  await fx.put('o.txt', 'version two, longer\n')
  await fx.del('gone.txt')
  await fx.put('new.txt', 'new\n')
  await new Promise(r => setTimeout(r, 1500))
  t.equal((await fx.sh(`cat ${fx.mountPoint}/o.txt`)).stdout, 'version two, longer\n', 'fresh content, not the cached block')
  const gone = await fx.sh(`cat ${fx.mountPoint}/gone.txt`)
  t.match(gone.stderr, /No such file or directory/, 'deleted object: ENOENT, not EIO')
  t.equal((await fx.sh(`cat ${fx.mountPoint}/new.txt`)).stdout, 'new\n')
  t.match((await fx.sh(`ls ${fx.mountPoint}`)).stdout, /^new\.txt\no\.txt\n$/)
})
