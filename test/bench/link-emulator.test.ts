// The emulated link against a tiny local HTTP server: it adds the configured
// time to first byte, caps a connection's bandwidth within a margin while
// streaming, and counts requests by type and bytes.
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { bucketRequests, LinkEmulator, totalRequests } from '../../tools/bench/link/link-emulator.js'
import { bucketOf, classifyRequest } from '../../tools/bench/link/request-classifier.js'

const BODY = Buffer.alloc(4_000_000, 7)

async function origin(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'PUT') {
      let n = 0
      req.on('data', (c: Buffer) => (n += c.length))
      req.on('end', () => res.end(String(n)))
      return
    }
    if (req.url?.startsWith('/bucket/big')) {
      res.writeHead(200, { 'content-length': BODY.length })
      // Write in 64 KiB pieces like a file stream would.
      for (let o = 0; o < BODY.length; o += 65536) res.write(BODY.subarray(o, o + 65536))
      res.end()
      return
    }
    res.end('ok')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()) }) }
}

function get(url: string, agent: http.Agent, headers: Record<string, string> = {}, method = 'GET', body?: Buffer): Promise<{ ttfbMs: number; totalMs: number; bytes: number }> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method, headers }, (res) => {
      const ttfbMs = performance.now() - start
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('end', () => resolve({ ttfbMs, totalMs: performance.now() - start, bytes }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('classifies S3 requests', async (t) => {
  t.equal(classifyRequest('GET', '/b/train/a.JPEG', undefined), 'GET')
  t.equal(classifyRequest('GET', '/b/train/a.JPEG', 'bytes=0-9'), 'GET_RANGE')
  t.equal(classifyRequest('HEAD', '/b/k', undefined), 'HEAD')
  t.equal(classifyRequest('GET', '/b?list-type=2&prefix=train%2F', undefined), 'LIST')
  t.equal(classifyRequest('GET', '/b/', undefined), 'LIST')
  t.equal(classifyRequest('PUT', '/b/k?partNumber=1&uploadId=x', undefined), 'PUT')
  t.equal(classifyRequest('POST', '/b/k?uploads', undefined), 'OTHER')
  t.equal(classifyRequest('GET', '/b?location', undefined), 'OTHER')
  t.equal(classifyRequest('DELETE', '/b/k', undefined), 'OTHER')
})

t.test('adds the configured time to first byte', async (t) => {
  const o = await origin()
  const link = await LinkEmulator.start({ upstream: o.url, ttfbMs: 40, bytesPerSecond: 80e6 })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(async () => { agent.destroy(); await link.close(); await o.close() })
  const direct: number[] = []
  const via: number[] = []
  for (let i = 0; i < 8; i++) {
    direct.push((await get(`${o.url}/bucket/small`, agent)).ttfbMs)
    via.push((await get(`${link.endpoint}/bucket/small`, agent)).ttfbMs)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
  const added = median(via) - median(direct)
  // Never less than configured (timers never fire early); the upper margin
  // absorbs timer lateness on a loaded 2-core machine.
  t.ok(added >= 39, `added ${added.toFixed(1)} ms >= 40 ms - 1`)
  t.ok(added < 80, `added ${added.toFixed(1)} ms < 80 ms`)
})

t.test('caps one connection at the configured bandwidth, streaming', async (t) => {
  const o = await origin()
  const link = await LinkEmulator.start({ upstream: o.url, ttfbMs: 0, bytesPerSecond: 20e6 })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(async () => { agent.destroy(); await link.close(); await o.close() })
  const r = await get(`${link.endpoint}/bucket/big`, agent)
  t.equal(r.bytes, BODY.length)
  const mbps = r.bytes / ((r.totalMs - r.ttfbMs) / 1000) / 1e6
  // 4 MB at 20 MB/s takes 200 ms. The cap is a hard bound (plus the 2 ms
  // burst); the lower margin is wide because a loaded machine can be slower.
  t.ok(mbps <= 20 * 1.1, `${mbps.toFixed(1)} MB/s <= 22`)
  t.ok(mbps >= 20 * 0.5, `${mbps.toFixed(1)} MB/s >= 10`)
  // Two connections each get their own cap: together faster than one cap allows.
  const agents = [new http.Agent({ keepAlive: true, maxSockets: 1 }), new http.Agent({ keepAlive: true, maxSockets: 1 })]
  const start = performance.now()
  const each = await Promise.all(agents.map((a) => get(`${link.endpoint}/bucket/big`, a)))
  const both = (2 * BODY.length) / ((performance.now() - start) / 1000) / 1e6
  agents.forEach((a) => a.destroy())
  for (const e of each) t.ok(e.bytes / ((e.totalMs - e.ttfbMs) / 1000) / 1e6 <= 22, 'each connection stays under its cap')
  t.ok(both > 22, `two connections: ${both.toFixed(1)} MB/s > one connection's cap`)
})

t.test('counts requests by type and bytes', async (t) => {
  const o = await origin()
  const link = await LinkEmulator.start({ upstream: o.url, ttfbMs: 0, bytesPerSecond: Infinity })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
  t.teardown(async () => { agent.destroy(); await link.close(); await o.close() })
  await get(`${link.endpoint}/bucket/a`, agent)
  await get(`${link.endpoint}/bucket/a`, agent)
  await get(`${link.endpoint}/bucket/big`, agent, { range: 'bytes=0-99' })
  await get(`${link.endpoint}/bucket/a`, agent, {}, 'HEAD')
  await get(`${link.endpoint}/bucket?list-type=2`, agent)
  await get(`${link.endpoint}/bucket/up`, agent, {}, 'PUT', Buffer.alloc(1234))
  await get(`${link.endpoint}/bucket/a`, agent, {}, 'DELETE')
  const c = link.counters()
  t.same(c.requests, { GET: 2, GET_RANGE: 1, HEAD: 1, LIST: 1, PUT: 1, OTHER: 1 })
  t.equal(totalRequests(c), 7)
  t.same(bucketRequests(c, 'bucket'), c.requests, 'every request named the one bucket')
  t.equal(c.bytesUp, 1234)
  t.equal(c.bytesDown.GET, 4)
  t.equal(c.bytesDown.GET_RANGE, BODY.length, 'the origin ignores Range: the proxy counts what it actually sent')
  link.resetCounters()
  t.equal(totalRequests(link.counters()), 0)
})

t.test('counts requests by bucket: a tier bucket apart from the origin on one server', async (t) => {
  t.equal(bucketOf('/origin/train/a.JPEG'), 'origin')
  t.equal(bucketOf('/tier?list-type=2'), 'tier')
  t.equal(bucketOf('/'), '')
  const o = await origin()
  const link = await LinkEmulator.start({ upstream: o.url, ttfbMs: 0, bytesPerSecond: Infinity })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
  t.teardown(async () => { agent.destroy(); await link.close(); await o.close() })
  await get(`${link.endpoint}/origin/a`, agent)
  await get(`${link.endpoint}/origin/b`, agent, { range: 'bytes=0-9' })
  await get(`${link.endpoint}/tier/ns/h/0`, agent, { range: 'bytes=0-9' })
  await get(`${link.endpoint}/tier/ns/h/1`, agent, {}, 'PUT', Buffer.alloc(10))
  const c = link.counters()
  t.same(bucketRequests(c, 'origin'), { GET: 1, GET_RANGE: 1, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 })
  t.same(bucketRequests(c, 'tier'), { GET: 0, GET_RANGE: 1, HEAD: 0, LIST: 0, PUT: 1, OTHER: 0 })
  t.same(bucketRequests(c, 'nowhere'), { GET: 0, GET_RANGE: 0, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 })
  c.requestsByBucket.origin!.GET = 99
  t.equal(bucketRequests(link.counters(), 'origin').GET, 1, 'counters() is a copy')
  link.resetCounters()
  t.same(link.counters().requestsByBucket, {})
})
