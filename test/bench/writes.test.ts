// The checkpoint-write workload's pure parts and its helpers: the writers'
// command lines, the objects a test must leave in the bucket, fresh prefixes,
// the bucket check (missing or short objects, HEAD for one, LIST for many,
// polling until present), and how a failing writer's message is kept.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { WriteSources } from '../../tools/bench/dataset/write-sources.js'
import { runCommand } from '../../tools/bench/util/run-command.js'
import { checkBucket, missingObjects, MIN_POLL_MS, pollDelayMs, waitInBucket } from '../../tools/bench/workloads/bucket-check.js'
import { expectedObjects, testSize, writePrefix, writerCommand } from '../../tools/bench/workloads/writes.js'

const src: WriteSources = {
  bucket: 'bench-writes',
  checkpointFile: '/cache/writes-s1/checkpoint-64m/ckpt.bin',
  checkpointBytes: 64 << 20,
  smallDir: '/cache/writes-s1/small-3',
  smallFiles: 3,
  smallFileBytes: 100_000,
  localScratch: '/cache/writes-local',
}

t.test('writers: dd for the checkpoint, cp -r for the small files', async (t) => {
  t.same(writerCommand('checkpoint', src, '/mnt/x'), ['dd', ['if=/cache/writes-s1/checkpoint-64m/ckpt.bin', 'of=/mnt/x/ckpt.bin', 'bs=4M', 'status=none']])
  t.same(writerCommand('small-files', src, '/mnt/x'), ['cp', ['-r', '/cache/writes-s1/small-3', '/mnt/x/small']])
  t.same(testSize('checkpoint', src), { files: 1, bytes: 64 << 20 })
  t.same(testSize('small-files', src), { files: 3, bytes: 300_000 })
})

t.test('expected objects and fresh prefixes', async (t) => {
  const p = writePrefix('s3cachefs-async', 'checkpoint')
  t.match(p, /^w[0-9a-z]+\/s3cachefs-async\/checkpoint\/$/)
  t.not(writePrefix('s3cachefs', 'checkpoint'), p, 'each row writes under its own prefix')
  t.same([...expectedObjects('checkpoint', src, p)], [[`${p}ckpt.bin`, 64 << 20]])
  t.same([...expectedObjects('small-files', src, 'w/r/s/')], [['w/r/s/small/f00000.bin', 100_000], ['w/r/s/small/f00001.bin', 100_000], ['w/r/s/small/f00002.bin', 100_000]])
})

t.test('missing objects: absent or not at full size; extra keys do not matter', async (t) => {
  const expected = new Map([['a', 10], ['b', 20], ['c', 30]])
  t.same(missingObjects(expected, [{ key: 'a', size: 10 }, { key: 'b', size: 5 }, { key: 'small/', size: 0 }]), ['b', 'c'])
  t.same(missingObjects(expected, [{ key: 'c', size: 30 }, { key: 'b', size: 20 }, { key: 'a', size: 10 }]), [])
  t.equal(pollDelayMs(0), MIN_POLL_MS)
  t.equal(pollDelayMs(300), 600, 'a slow check waits twice as long')
})

/** A tiny S3 stand-in: HEAD and ListObjectsV2 over an object table the test changes. */
async function fakeS3(t: Test, objects: Map<string, number>): Promise<{ endpoint: string; requests: string[] }> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(`${req.method} ${url.pathname}${url.search}`)
    const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'))
    if (req.method === 'HEAD') {
      const size = objects.get(key)
      res.writeHead(size === undefined ? 404 : 200, size === undefined ? {} : { 'content-length': size }).end()
      return
    }
    const prefix = url.searchParams.get('prefix') ?? ''
    const contents = [...objects].filter(([k]) => k.startsWith(prefix)).map(([k, size]) => `<Contents><Key>${k}</Key><Size>${size}</Size></Contents>`)
    res.writeHead(200, { 'content-type': 'application/xml' }).end(`<ListBucketResult><IsTruncated>false</IsTruncated>${contents.join('')}</ListBucketResult>`)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

t.test('bucket check: one HEAD for one object, LIST for many', async (t) => {
  const objects = new Map([['p/ckpt.bin', 100], ['p/small/a', 5]])
  const { endpoint, requests } = await fakeS3(t, objects)
  const agent = new http.Agent()
  t.teardown(() => agent.destroy())
  const target = { endpoint, bucket: 'b' }
  t.same(await checkBucket(target, 'p/', new Map([['p/ckpt.bin', 100]]), agent), [])
  t.same(await checkBucket(target, 'p/', new Map([['p/ckpt.bin', 200]]), agent), ['p/ckpt.bin'], 'a short object is missing')
  t.same(await checkBucket(target, 'p/', new Map([['p/nope', 1]]), agent), ['p/nope'], '404 is missing')
  t.same(await checkBucket(target, 'p/small/', new Map([['p/small/a', 5], ['p/small/b', 5]]), agent), ['p/small/b'])
  t.match(requests[0], /^HEAD \/b\/p\/ckpt.bin$/)
  t.match(requests[3], /^GET \/b\?.*list-type=2/)
  t.match(requests[3], /prefix=p%2Fsmall%2F/)
})

t.test('waitInBucket polls until every object is there at full size', async (t) => {
  const objects = new Map<string, number>()
  const { endpoint } = await fakeS3(t, objects)
  const started = performance.now()
  let whole = Infinity
  setTimeout(() => objects.set('p/ckpt.bin', 50), 150)
  // Timed from when it really appeared: a loaded machine may run the timer late.
  setTimeout(() => (objects.set('p/ckpt.bin', 100), (whole = performance.now())), 350)
  const at = await waitInBucket({ endpoint, bucket: 'b' }, 'p/', new Map([['p/ckpt.bin', 100]]), started + 5000)
  t.ok(at >= whole, `confirmed after the full object appeared (${Math.round(at - started)} ms)`)
  t.ok(at - whole < 3 * MIN_POLL_MS, `within a poll or two of it (${Math.round(at - whole)} ms)`)
  await t.rejects(waitInBucket({ endpoint, bucket: 'b' }, 'p/', new Map([['p/other', 1]]), performance.now() + 250), /1 of 1 objects were still not in the bucket .*p\/other/)
  // A failing flush stops the polling at once instead of at the phase timeout.
  const stop = new AbortController()
  setTimeout(() => stop.abort(), 150)
  const t1 = performance.now()
  await t.rejects(waitInBucket({ endpoint, bucket: 'b' }, 'p/', new Map([['p/other', 1]]), t1 + 60_000, stop.signal), /stopped polling/)
  t.ok(performance.now() - t1 < 1000, 'stopped within a poll')
})

t.test('runCommand keeps the failing command\'s first stderr line', async (t) => {
  await runCommand('sh', ['-c', 'exit 0'], 5000)
  await t.rejects(runCommand('sh', ['-c', 'echo "dd: closing output file: Input/output error" >&2; echo more >&2; exit 1'], 5000), { message: 'sh exited 1: dd: closing output file: Input/output error' })
  await t.rejects(runCommand('sleep', ['5'], 200), { message: 'sleep timed out after 0 s' })
  await t.rejects(runCommand('/nonexistent/writer', [], 1000), /nonexistent\/writer: spawn .*ENOENT/)
})
