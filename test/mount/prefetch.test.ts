/**
 * Cross-file prefetch and path-first lookups through a real mount, counted at the
 * local S3 server: files read by name with no listing first cost no HEAD; a shuffled
 * epoch starts prefetching the rest of the tree, every file is fetched once, and
 * `stats` shows the prefetch hits.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { shuffled } from '../helpers/shuffled.js'
import { CLI, makeFixture } from './mount-fixture.js'
import { sha } from './write-helpers.js'

t.test('path-first lookups and cross-file prefetch', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let c = 0; c < 6; c++) for (let i = 0; i < 50; i++) files.set(`train/c${c}/img${i}.jpg`, randomBytes(30_000 + ((c * 50 + i) % 7) * 1000))
  for (const [k, v] of files) await fx.put(k, v)
  const val = new Map<string, Buffer>()
  for (let i = 0; i < 120; i++) val.set(`val/img${i}.jpg`, randomBytes(20_000))
  for (const [k, v] of val) await fx.put(k, v)
  await fx.mount(['--prefetch-after', '24'])
  const m = fx.mountPoint
  const names = shuffled([...files.keys()], 5)

  await t.test('300 files read by name, no ls first: no HEAD per file', async t => {
    await fx.resetRequests()
    // sha256sum -c style: a manifest of paths, read in its order, 4 at a time.
    const list = names.map(n => `'${n}'`).join('\n')
    const r = await fx.sh(`cd ${m} && printf '%s\\n' ${names.map(n => `'${n}'`).join(' ')} | xargs -P4 -n 10 sha256sum`)
    t.equal(r.code, 0, r.stderr)
    t.ok(list.length > 0)
    const got = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map(l => [l.slice(66), l.slice(0, 64)]),
    )
    for (const [k, v] of files) t.equal(got.get(k), sha(v), k)
    const req = await fx.requests()
    t.equal(req.headObject, 0, 'no HEAD')
    t.ok(req.list <= 10, `a LIST per directory, not per file (${req.list})`)
    t.equal(req.getObject + req.rangedGet, 300, 'each file fetched once, by the reader or the prefetcher')
    const s = JSON.parse((await fx.cli(['stats', m, '--json'])).stdout) as { prefetch: { filesPrefetched: number; hits: number } }
    t.ok(s.prefetch.filesPrefetched > 0, `prefetch started on the shuffled reads (${s.prefetch.filesPrefetched} files)`)
    t.ok(s.prefetch.hits > 0, `files it brought were then read (${s.prefetch.hits} hits)`)
  })

  await t.test('the next epoch reads from the cache', async t => {
    await fx.resetRequests()
    const r = await fx.sh(`cd ${m} && echo 3 > /proc/sys/vm/drop_caches; find train -type f | xargs -P4 -n 20 cat | wc -c`)
    t.equal(
      Number(r.stdout.trim()),
      [...files.values()].reduce((n, b) => n + b.length, 0),
    )
    const req = await fx.requests()
    t.equal(req.getObject + req.rangedGet, 0, 'no GET')
  })

  await t.test('prefetch --list: a serial reader of an announced shuffled order finds its files fetched ahead', async t => {
    const order = shuffled([...val.keys()], 8)
    await fx.sh(`printf '%s\\n' ${order.map(n => `'${n}'`).join(' ')} > ${fx.root}/order.txt`)
    await fx.resetRequests()
    const a = await fx.sh(`cd ${m} && node ${CLI} prefetch --list ${fx.root}/order.txt --window-files 32`)
    t.equal(a.code, 0, a.stderr)
    t.match(a.stdout, /window of 32 files/)
    t.match(a.stdout, /120 files in order/)
    const r = await fx.sh(`cd ${m} && while read f; do cat "$f"; done < ${fx.root}/order.txt | wc -c`)
    t.equal(Number(r.stdout.trim()), 120 * 20_000)
    const req = await fx.requests()
    t.equal(req.getObject + req.rangedGet, 120, 'each file fetched once')
    const s = JSON.parse((await fx.cli(['stats', m, '--json'])).stdout) as { prefetch: { announced: { position: number; hits: number } } }
    t.equal(s.prefetch.announced.position, 120, 'the daemon followed the reader to the end')
    t.ok(s.prefetch.announced.hits >= 100, `the window was ahead of the reader (${s.prefetch.announced.hits} of 120 opens)`)
    const bad = await fx.cli(['prefetch', '--list', `${fx.root}/order.txt`])
    t.equal(bad.code, 2, 'relative paths outside a mount: usage error')
    t.match(bad.stderr, /^s3cachefs: .* is not inside an s3cachefs mount\n$/)
  })
})
