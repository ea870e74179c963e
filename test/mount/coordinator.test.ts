/**
 * Cross-node coordination on a real Redis (Debian's redis-server on a free loopback
 * port): two nodes reading the same cold files at once cost about one origin GET per
 * block; the listing manifest spares the second node its LISTs; Redis killed
 * mid-run leaves every read working (each node then works alone).
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { makeManyNodes, type ManyNodesFixture, type Node } from './many-nodes-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** sha256sum of every file of `dir` on both nodes at once; true when all are byte-exact. */
async function readTogether(fx: ManyNodesFixture, nodes: Node[], files: Map<string, Buffer>, dir: string): Promise<number> {
  const runs = await Promise.all(nodes.map(n => fx.sh(`cd ${n.mountPoint}/${dir} && ls | xargs -P 8 -n 4 sha256sum`)))
  let ok = 0
  for (const r of runs) {
    for (const line of r.stdout.trim().split('\n')) if (line.slice(0, 64) === sha(files.get(`${dir}/${line.slice(66)}`) as Buffer)) ok++
  }
  return ok
}

t.test('two nodes with a coordinator', async t => {
  const fx = await makeManyNodes(t)
  const dirs = new Map<string, Map<string, Buffer>>()
  for (const dir of ['same', 'tree/a', 'tree/b', 'tree/c', 'alone']) {
    const files = new Map<string, Buffer>()
    for (let i = 0; i < 40; i++) files.set(`${dir}/${i}.jpg`, randomBytes(20_000 + i * 1000))
    await Promise.all([...files].map(([k, v]) => fx.put(k, v)))
    dirs.set(dir, files)
  }
  const redis = await fx.startRedis()
  const flags = ['--coordinator', redis, '--prefetch-after', 'off', '--metadata-ttl', '5m']
  const a = await fx.node('a', flags)
  const b = await fx.node('b', flags)

  await t.test('reading the same cold files at once costs about one origin GET per block', async t => {
    const files = dirs.get('same') as Map<string, Buffer>
    const before = await fx.originGets()
    t.equal(await readTogether(fx, [a, b], files, 'same'), 2 * files.size, 'byte-exact on both nodes')
    const gets = (await fx.originGets()) - before
    t.ok(gets <= files.size * 1.15, `${gets} origin GETs for ${files.size} single-block files read by two nodes`)
    const [sa, sb] = [(await a.stats()).sharedTier, (await b.stats()).sharedTier]
    t.ok((sa?.leaseWaits ?? 0) + (sb?.leaseWaits ?? 0) > 0, 'a node waited for the other')
    t.ok((sa?.leaseWaitHits ?? 0) + (sb?.leaseWaitHits ?? 0) > 0, 'and then read the tier')
  })

  await t.test('the listing manifest spares the second node its LISTs', async t => {
    const la = (await a.stats()).s3.byKind.list.count
    const r1 = await fx.sh(`find ${a.mountPoint}/tree | wc -l`)
    t.equal(r1.stdout.trim(), '124', 'node A sees the tree')
    const listsA = (await a.stats()).s3.byKind.list.count - la
    const lb = (await b.stats()).s3.byKind.list.count
    const r2 = await fx.sh(`find ${b.mountPoint}/tree | wc -l`)
    t.equal(r2.stdout.trim(), '124', 'node B sees the same tree')
    const listsB = (await b.stats()).s3.byKind.list.count - lb
    t.ok(listsA >= 4, `node A listed (${listsA} LISTs)`)
    t.equal(listsB, 0, 'node B sent no LIST')
    t.ok(((await b.stats()).coordinator?.manifest.hits ?? 0) >= 4, 'B took the listings from the manifest')
  })

  await t.test('Redis killed mid-run: every read still succeeds', async t => {
    const files = dirs.get('alone') as Map<string, Buffer>
    await fx.stopRedis()
    t.equal(await readTogether(fx, [a, b], files, 'alone'), 2 * files.size, 'byte-exact on both nodes')
    const s = await a.stats()
    t.equal(s.coordinator?.connected, false, 'A knows the coordinator is down')
    t.equal(Object.keys(s.errors.reads).length, 0, 'no read failed')
  })
})
