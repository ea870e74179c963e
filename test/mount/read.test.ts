/**
 * The read path through a real mount: byte-exact contents, listings from LIST pages
 * with no HEAD per entry, nested implicit directories, a large file read
 * sequentially and at random offsets, 32 concurrent reader processes.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024

t.test('read path', async t => {
  const fx = await makeFixture(t)
  const small = new Map<string, Buffer>()
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < 25; i++) small.set(`train/class${c}/img${i}.JPEG`, randomBytes(20_000 + Math.floor(Math.random() * 150_000)))
  }
  small.set('deep/a/b/c/d/leaf.txt', Buffer.from('deep leaf\n'))
  small.set('empty.txt', Buffer.alloc(0))
  small.set('space name/ü n.txt', Buffer.from('unicode\n'))
  await Promise.all([...small].map(([k, v]) => fx.put(k, v)))
  const many = 3000
  for (let i = 0; i < many; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => fx.put(`many/f${String(i + j).padStart(5, '0')}`, `${i + j}`)))
  }
  const big = randomBytes(100 * MiB)
  await fx.put('shards/big.tar', big)
  await fx.mount()

  await t.test('every small file is byte-exact (sha256 through the mount)', async t => {
    const list = [...small.keys()]
    const r = await fx.sh(`cd ${fx.mountPoint} && sha256sum ${list.map(k => `'${k}'`).join(' ')}`)
    t.equal(r.code, 0, r.stderr)
    const got = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map(l => [l.slice(66), l.slice(0, 64)]),
    )
    for (const [k, v] of small) t.equal(got.get(k), sha(v), k)
  })

  await t.test('nested implicit directories list like a filesystem', async t => {
    const r = await fx.sh(`cd ${fx.mountPoint} && ls -1 && ls -1 train && ls -1 deep/a/b/c/d && find deep -type d | sort`)
    t.equal(r.code, 0, r.stderr)
    t.match(
      r.stdout,
      /^deep\nempty\.txt\nmany\nshards\nspace name\ntrain\nclass0\nclass1\nclass2\nclass3\nleaf\.txt\ndeep\ndeep\/a\ndeep\/a\/b\ndeep\/a\/b\/c\ndeep\/a\/b\/c\/d\n$/,
    )
    const st = await fx.sh(`stat -c '%F %s' ${fx.mountPoint}/train ${fx.mountPoint}/empty.txt ${fx.mountPoint}/train/class1/img3.JPEG`)
    t.equal(st.stdout, `directory 4096\nregular empty file 0\nregular file ${small.get('train/class1/img3.JPEG')?.length}\n`)
    const missing = await fx.sh(`cat ${fx.mountPoint}/train/nope.JPEG`)
    t.match(missing.stderr, /No such file or directory/)
  })

  await t.test(`ls -l of ${many} entries costs LIST pages and no HEAD`, async t => {
    await fx.resetRequests()
    const r = await fx.sh(`ls -l ${fx.mountPoint}/many | tail -n +2 | wc -l && ls -l ${fx.mountPoint}/many >/dev/null`)
    t.equal(r.stdout.trim(), String(many))
    const req = await fx.requests()
    t.equal(req.headObject, 0, 'no HEAD per entry')
    // Three 1,000-key pages, or none if listing the root already prefetched this directory.
    t.ok(req.list <= 6, `LIST pages: ${req.list}`)
    const sizes = await fx.sh(`stat -c %s ${fx.mountPoint}/many/f00042 ${fx.mountPoint}/many/f02999`)
    t.equal(sizes.stdout, '2\n4\n')
    t.equal((await fx.requests()).headObject, 0)
  })

  await t.test('find over the whole tree', async t => {
    const r = await fx.sh(`find ${fx.mountPoint} -type f | wc -l`)
    t.equal(Number(r.stdout.trim()), small.size + many + 1)
  })

  await t.test('a 100 MiB file read sequentially and at random offsets', async t => {
    await fx.resetRequests()
    const r = await fx.sh(`sha256sum ${fx.mountPoint}/shards/big.tar`)
    t.equal(r.stdout.slice(0, 64), sha(big))
    const req = await fx.requests()
    t.ok(req.rangedGet + req.getObject <= 25, `sequential read in part-sized GETs, not one per 128 KiB read (${req.rangedGet + req.getObject})`)
    const offsets = Array.from({ length: 40 }, () => Math.floor(Math.random() * (big.length - 65536)))
    const script = offsets.map(o => `dd if=${fx.mountPoint}/shards/big.tar bs=4096 skip=${o} iflag=skip_bytes count=3 status=none | sha256sum`).join(' && ')
    const rr = await fx.sh(script)
    t.equal(rr.code, 0, rr.stderr)
    const sums = rr.stdout
      .trim()
      .split('\n')
      .map(l => l.slice(0, 64))
    offsets.forEach((o, i) => t.equal(sums[i], sha(big.subarray(o, o + 3 * 4096)), `offset ${o}`))
  })

  await t.test('32 concurrent reader processes get byte-exact data', async t => {
    const keys = [...small.keys()].filter(k => k.startsWith('train/'))
    const cmds = Array.from({ length: 32 }, (_, p) => {
      const mine = keys.filter((_, i) => i % 32 === p).concat(['shards/big.tar'])
      return `(cd ${fx.mountPoint} && sha256sum ${mine.join(' ')})`
    })
    const r = await fx.sh(cmds.map(c => `${c} &`).join(' ') + ' wait')
    t.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    t.equal(lines.length, keys.length + 32)
    for (const l of lines) {
      const k = l.slice(66)
      t.equal(l.slice(0, 64), sha(k === 'shards/big.tar' ? big : (small.get(k) as Buffer)), k)
    }
  })

  await t.test('stats reports what was read', async t => {
    const r = await fx.cli(['stats', fx.mountPoint, '--json'])
    t.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as { reads: { bytesServed: number; blocksFromStore: number }; s3: { byKind: { get: { count: number } } } }
    t.ok(s.reads.bytesServed > 100 * MiB)
    t.ok(s.s3.byKind.get.count > 0)
    const human = await fx.cli(['stats', fx.mountPoint])
    t.match(human.stdout, /cache hit ratio/)
  })

  await fx.unmount()
  const after = await fx.sh(`grep -c " ${fx.mountPoint} " /proc/mounts`)
  t.equal(after.stdout.trim(), '0', 'unmounted')
})
