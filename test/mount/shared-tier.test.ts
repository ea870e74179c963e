/**
 * The shared second tier through real mounts: two daemons ("nodes") mount one bucket
 * with separate disk caches and share a tier bucket on a second S3 server.
 * Node B reads what A read with no origin GET; foreign and corrupt tier objects are
 * misses; a version changed at the origin is never served from the tier after the
 * metadata TTL; a tier that dies (or never answers) costs no failed read; and
 * `load --shared --shard I/N` on two nodes warms the tier for a third.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { encodeSharedBlock, sharedBlockKey, sharedNamespace } from '../../src/cache/shared-block-format.js'
import { makeManyNodes, type ManyNodesFixture, type Node } from './many-nodes-fixture.js'
import { runCli } from './mount-fixture.js'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function putDataset(fx: ManyNodesFixture, files: number, prefix = 'd'): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (let i = 0; i < files; i++) out.set(`${prefix}/${i}.jpg`, randomBytes(20_000 + i * 3_000))
  out.set(`${prefix}/shard.bin`, randomBytes(11 * MiB + 5))
  await Promise.all([...out].map(([k, v]) => fx.put(k, v)))
  return out
}

const blocksOf = (files: Map<string, Buffer>) => [...files.values()].reduce((n, b) => n + Math.ceil(b.length / MiB), 0)

/** sha256sum of every file under `dir` of the node's mount, checked against `files`. */
async function readAll(t: Test, fx: ManyNodesFixture, node: Node, files: Map<string, Buffer>, dir = 'd'): Promise<void> {
  const r = await fx.sh(`cd ${node.mountPoint}/${dir} && sha256sum *`)
  t.equal(r.code, 0, r.stderr)
  let ok = 0
  for (const line of r.stdout.trim().split('\n')) if (line.slice(0, 64) === sha(files.get(`${dir}/${line.slice(66)}`) as Buffer)) ok++
  t.equal(ok, files.size, `${node.name}: every file byte-exact`)
}

/** Waits until the node's background tier writes are done. */
async function tierSettled(node: Node): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const s = (await node.stats()).sharedTier
    if (s !== undefined && s.writesQueued === 0) return s.writes
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error('tier writes did not settle')
}

t.test('node B reads byte-exact with zero origin GETs after node A', async t => {
  const fx = await makeManyNodes(t)
  const files = await putDataset(fx, 30)
  const a = await fx.node('a')
  const b = await fx.node('b')
  await readAll(t, fx, a, files)
  t.equal(await tierSettled(a), blocksOf(files), 'A wrote every block to the tier')
  const before = await fx.originGets()
  await readAll(t, fx, b, files)
  t.equal(await fx.originGets() - before, 0, 'no origin GET for node B')
  const s = await b.stats()
  t.equal(s.s3.byKind.get.count, 0, "B's own origin GETs")
  t.equal(s.sharedTier?.hits, blocksOf(files), 'every block a tier hit')
  t.equal(s.reads.blocksFromStore, 0)
  // A tier hit fills the local cache: B reads again from disk after a remount, tier untouched.
  await b.unmount()
  const b2 = await fx.node('b')
  await readAll(t, fx, b2, files)
  t.equal((await b2.stats()).sharedTier?.hits, 0, 'second read of B served by its disk cache')
})

t.test('a corrupt or foreign tier object is a miss, never data', async t => {
  const fx = await makeManyNodes(t)
  const good = randomBytes(100_000)
  const other = randomBytes(100_000)
  await fx.put('x/corrupt.jpg', good)
  await fx.put('x/foreign.jpg', other)
  const etag = (b: Buffer) => createHash('md5').update(b).digest('hex')
  const ns = sharedNamespace(fx.bucket, MiB)
  const id = (key: string, body: Buffer) => ({ bucket: fx.bucket, key, etag: etag(body), index: 0, offset: 0, length: body.length })
  // Right header, flipped data: the checksum catches it.
  const corrupt = encodeSharedBlock(id('x/corrupt.jpg', good), good)
  corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff
  await fx.putTier(`blocks/${sharedBlockKey(ns, 'x/corrupt.jpg', etag(good), 0)}`, corrupt)
  // A valid block of another object under this one's key: the header names the wrong key.
  const poison = randomBytes(100_000)
  await fx.putTier(`blocks/${sharedBlockKey(ns, 'x/foreign.jpg', etag(other), 0)}`, encodeSharedBlock(id('x/elsewhere.jpg', poison), poison))
  const n = await fx.node('n')
  const r = await fx.sh(`sha256sum ${n.mountPoint}/x/corrupt.jpg ${n.mountPoint}/x/foreign.jpg`)
  t.equal(r.code, 0, r.stderr)
  const sums = r.stdout.split('\n').map(l => l.slice(0, 64))
  t.same(sums.slice(0, 2), [sha(good), sha(other)], 'the origin bytes, not the tier objects')
  const s = await n.stats()
  t.equal(s.sharedTier?.mismatches, 2, 'both counted as not matching')
  t.equal(s.s3.byKind.get.count, 2, 'both fetched from the origin')
  await tierSettled(n) // the origin fetch replaces the bad objects
  const n2 = await fx.node('n2')
  t.equal((await fx.sh(`cat ${n2.mountPoint}/x/corrupt.jpg | sha256sum`)).stdout.slice(0, 64), sha(good))
  t.equal((await n2.stats()).sharedTier?.hits, 1, 'the rewritten block is a hit for the next node')
})

t.test('an object changed at the origin is never served from the tier under its old ETag after the metadata TTL', async t => {
  const fx = await makeManyNodes(t)
  const v1 = randomBytes(300_000)
  const v2 = randomBytes(300_000)
  await fx.put('c/f.bin', v1)
  const a = await fx.node('a', ['--metadata-ttl', '1s'])
  const b = await fx.node('b', ['--metadata-ttl', '1s'])
  t.equal((await fx.sh(`sha256sum < ${a.mountPoint}/c/f.bin`)).stdout.slice(0, 64), sha(v1))
  await tierSettled(a)
  t.equal((await fx.sh(`ls -l ${b.mountPoint}/c/`)).code, 0, 'B knows version 1')
  await fx.put('c/f.bin', v2)
  await new Promise(r => setTimeout(r, 1500))
  t.equal((await fx.sh(`sha256sum < ${b.mountPoint}/c/f.bin`)).stdout.slice(0, 64), sha(v2), 'B reads version 2')
  t.equal((await fx.sh(`sha256sum < ${a.mountPoint}/c/f.bin`)).stdout.slice(0, 64), sha(v2), 'A reads version 2')
  t.equal((await b.stats()).sharedTier?.hits, 0, 'no tier hit: version 2 is another key')
})

t.test('a tier killed mid-run, or unreachable at mount, never fails a read', async t => {
  const fx = await makeManyNodes(t)
  const files = await putDataset(fx, 20)
  const a = await fx.node('a')
  const half = [...files.keys()].slice(0, 10).map(k => join(a.mountPoint, k)).join(' ')
  t.equal((await fx.sh(`cat ${half} > /dev/null`)).code, 0)
  await fx.tier.stop()
  await readAll(t, fx, a, files)
  const b = await fx.node('b')
  await readAll(t, fx, b, files)
  t.ok(((await b.stats()).sharedTier?.errors ?? 0) > 0, 'tier errors counted')
  const c = await fx.node('c', ['--shared-cache-endpoint-url', 'http://127.0.0.1:9'])
  await readAll(t, fx, c, files)
  const log = await readFile(join(c.cacheDir, 's3cachefs.log'), 'utf8')
  t.equal(log.split('\n').filter(l => l.includes('shared cache tier is unreachable')).length, 1, 'one warning line at mount')
})

t.test('load --shared --shard I/N on two nodes warms the tier for a third', async t => {
  const fx = await makeManyNodes(t)
  const files = await putDataset(fx, 24, 'w')
  const a = await fx.node('a')
  const b = await fx.node('b')
  for (const [node, shard] of [[a, '1/2'], [b, '2/2']] as const) {
    const r = await runCli(['load', join(node.mountPoint, 'w'), '--shared', '--shard', shard, '--wait'])
    t.equal(r.code, 0, r.stderr)
  }
  const sa = await a.stats()
  const sb = await b.stats()
  t.ok(sa.loads.files > 0 && sb.loads.files > 0, 'each node loaded a share')
  t.equal(sa.loads.files + sb.loads.files, files.size, 'the shares cover every file once')
  t.equal(sa.cache.blocks + sb.cache.blocks, 0, 'the tier was warmed, not the disk caches')
  const before = await fx.originGets()
  const c = await fx.node('c')
  await readAll(t, fx, c, files, 'w')
  t.equal(await fx.originGets() - before, 0, 'node C reads with no origin GET')
})
