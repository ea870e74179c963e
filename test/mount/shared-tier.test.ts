/**
 * The shared second tier through real mounts: two daemons ("nodes") mount one bucket
 * with separate disk caches and share a tier bucket on a second S3 server.
 * Node B reads what A read with no origin GET; foreign and corrupt tier objects are
 * misses; a version changed at the origin is never served from the tier after the
 * metadata TTL; `load --shared --shard I/N` on two nodes warms the tier; a tier that
 * dies (or never answers) costs no failed read. One fixture for the file (mounts cost
 * seconds each on a loaded machine); each part uses its own directory.
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

/** The sha256 of a file read through a mount (in a child process), or the error. */
async function shaOf(fx: ManyNodesFixture, path: string): Promise<string> {
  const r = await fx.sh(`sha256sum < ${path}`)
  return r.code === 0 ? r.stdout.slice(0, 64) : `error: ${r.stderr}`
}

async function putDataset(fx: ManyNodesFixture, files: number, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (let i = 0; i < files; i++) out.set(`${prefix}/${i}.jpg`, randomBytes(20_000 + i * 3_000))
  out.set(`${prefix}/shard.bin`, randomBytes(11 * MiB + 5))
  await Promise.all([...out].map(([k, v]) => fx.put(k, v)))
  return out
}

const blocksOf = (files: Map<string, Buffer>) => [...files.values()].reduce((n, b) => n + Math.ceil(b.length / MiB), 0)

/** sha256sum of every file under `dir` of the node's mount, checked against `files`. */
async function readAll(t: Test, fx: ManyNodesFixture, node: Node, files: Map<string, Buffer>, dir: string): Promise<void> {
  const r = await fx.sh(`cd ${node.mountPoint}/${dir} && sha256sum *`)
  t.equal(r.code, 0, r.stderr)
  let ok = 0
  for (const line of r.stdout.trim().split('\n')) if (line.slice(0, 64) === sha(files.get(`${dir}/${line.slice(66)}`) as Buffer)) ok++
  t.equal(ok, files.size, `${node.name}: every file byte-exact`)
}

/** Waits until the node's background tier writes are done. */
async function tierSettled(node: Node): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await node.stats()).sharedTier?.writesQueued === 0) return
    await new Promise(r => setTimeout(r, 25))
  }
  throw new Error('tier writes did not settle')
}

async function tierStats(node: Node) {
  const s = await node.stats()
  return { ...s.sharedTier!, originGets: s.s3.byKind.get.count, diskBlocks: s.cache.blocks }
}

t.test('two nodes sharing a tier', async t => {
  const fx = await makeManyNodes(t)
  // Every object exists before the mounts: a name added later is seen only after the negative TTL.
  const d = await putDataset(fx, 30, 'd')
  const w = await putDataset(fx, 24, 'w')
  const k = await putDataset(fx, 20, 'k')
  const good = randomBytes(100_000)
  const other = randomBytes(100_000)
  await fx.put('x/corrupt.jpg', good)
  await fx.put('x/foreign.jpg', other)
  const v1 = randomBytes(300_000)
  const v2 = randomBytes(300_000)
  await fx.put('c/f.bin', v1)
  const a = await fx.node('a', ['--metadata-ttl', '1s', '--prefetch-after', 'off'])
  const b = await fx.node('b', ['--metadata-ttl', '1s', '--prefetch-after', 'off', '--metrics-port', '0'])

  await t.test('node B reads byte-exact with zero origin GETs after node A', async t => {
    const files = d
    await readAll(t, fx, a, files, 'd')
    await tierSettled(a)
    t.equal((await tierStats(a)).writes, blocksOf(files), 'A wrote every block to the tier')
    t.equal((await tierStats(a)).errors, 0, "A's cold misses are misses, not errors")
    const before = await fx.originGets()
    await readAll(t, fx, b, files, 'd')
    t.equal((await fx.originGets()) - before, 0, 'no origin GET for node B')
    const s = await tierStats(b)
    t.equal(s.originGets, 0, "B's own origin GETs")
    t.equal(s.hits, blocksOf(files), 'every block a tier hit')
    t.equal(s.diskBlocks, blocksOf(files), 'tier hits fill the local disk cache')
    const url = (await b.stats()).metricsUrl as string
    const metrics = await (await fetch(url)).text()
    t.match(metrics, new RegExp(`^s3cachefs_shared_tier_lookups_total\\{result="hit"\\} ${blocksOf(files)}$`, 'm'), 'Prometheus: tier hits')
    t.match(
      metrics,
      new RegExp(`^s3cachefs_shared_tier_read_bytes_total ${[...files.values()].reduce((n, f) => n + f.length, 0)}$`, 'm'),
      'Prometheus: tier bytes',
    )
  })

  await t.test('a corrupt or foreign tier object is a miss, never data', async t => {
    const etag = (body: Buffer) => createHash('md5').update(body).digest('hex')
    const ns = sharedNamespace(fx.bucket, MiB)
    const id = (key: string, body: Buffer) => ({ bucket: fx.bucket, key, etag: etag(body), index: 0, offset: 0, length: body.length })
    // Right header, flipped data: the checksum catches it.
    const corrupt = encodeSharedBlock(id('x/corrupt.jpg', good), good)
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff
    await fx.putTier(`blocks/${sharedBlockKey(ns, 'x/corrupt.jpg', etag(good), 0)}`, corrupt)
    // A valid block of another object under this one's key: the header names the wrong key.
    const poison = randomBytes(100_000)
    await fx.putTier(`blocks/${sharedBlockKey(ns, 'x/foreign.jpg', etag(other), 0)}`, encodeSharedBlock(id('x/elsewhere.jpg', poison), poison))
    const before = await tierStats(a)
    const r = await fx.sh(`sha256sum ${a.mountPoint}/x/corrupt.jpg ${a.mountPoint}/x/foreign.jpg`)
    t.equal(r.code, 0, r.stderr)
    t.same(
      r.stdout
        .split('\n')
        .slice(0, 2)
        .map(l => l.slice(0, 64)),
      [sha(good), sha(other)],
      'the origin bytes, not the tier objects',
    )
    const after = await tierStats(a)
    t.equal(after.mismatches - before.mismatches, 2, 'both counted as not matching')
    t.equal(after.originGets - before.originGets, 2, 'both fetched from the origin')
    await tierSettled(a) // the origin fetch replaces the bad objects
    const before2 = await tierStats(b)
    t.equal(await shaOf(fx, `${b.mountPoint}/x/corrupt.jpg`), sha(good))
    const after2 = await tierStats(b)
    t.ok(after2.hits > before2.hits, 'the rewritten block is a hit for the next node')
    t.equal(after2.originGets, before2.originGets, 'no origin GET for it')
  })

  await t.test('an object changed at the origin is never served from the tier under its old ETag after the metadata TTL', async t => {
    t.equal(await shaOf(fx, `${a.mountPoint}/c/f.bin`), sha(v1))
    await tierSettled(a)
    t.equal((await fx.sh(`ls -l ${b.mountPoint}/c/`)).code, 0, 'B knows version 1')
    await fx.put('c/f.bin', v2)
    await new Promise(r => setTimeout(r, 1500))
    const hits = (await tierStats(b)).hits
    t.equal(await shaOf(fx, `${b.mountPoint}/c/f.bin`), sha(v2), 'B reads version 2')
    t.equal(await shaOf(fx, `${a.mountPoint}/c/f.bin`), sha(v2), 'A reads version 2')
    t.equal((await tierStats(b)).hits - hits, 0, 'no tier hit: version 2 is another key')
  })

  await t.test('load --shared --shard I/N on two nodes warms the tier', async t => {
    const files = w
    const diskBefore = (await tierStats(a)).diskBlocks + (await tierStats(b)).diskBlocks
    for (const [node, shard] of [
      [a, '1/2'],
      [b, '2/2'],
    ] as const) {
      const r = await runCli(['load', join(node.mountPoint, 'w'), '--shared', '--shard', shard, '--wait'])
      t.equal(r.code, 0, r.stderr)
    }
    const [la, lb] = [(await a.stats()).loads.jobs.at(-1), (await b.stats()).loads.jobs.at(-1)]
    t.ok((la?.files ?? 0) > 0 && (lb?.files ?? 0) > 0, 'each node loaded a share')
    t.equal((la?.files ?? 0) + (lb?.files ?? 0), files.size, 'the shares cover every file once')
    t.equal((await tierStats(a)).diskBlocks + (await tierStats(b)).diskBlocks, diskBefore, 'the tier was warmed, not the disk caches')
    const before = await fx.originGets()
    await readAll(t, fx, a, files, 'w')
    t.equal((await fx.originGets()) - before, 0, 'reading the loaded files costs no origin GET')
  })

  await t.test('a tier killed mid-run, or unreachable at mount, never fails a read', async t => {
    const files = k
    const half = [...files.keys()]
      .slice(0, 10)
      .map(k => join(a.mountPoint, k))
      .join(' ')
    t.equal((await fx.sh(`cat ${half} > /dev/null`)).code, 0)
    await fx.tier.stop()
    await readAll(t, fx, a, files, 'k')
    await readAll(t, fx, b, files, 'k')
    t.ok((await tierStats(b)).errors > 0, 'tier errors counted')
    const c = await fx.node('c', ['--shared-cache-endpoint-url', 'http://127.0.0.1:9'])
    await readAll(t, fx, c, files, 'k')
    const log = await readFile(join(c.cacheDir, 's3cachefs.log'), 'utf8')
    t.equal(log.split('\n').filter(l => l.includes('shared cache tier is unreachable')).length, 1, 'one warning line at mount')
  })
})
