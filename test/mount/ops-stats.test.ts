/**
 * Watching a mount (issue 5): `stats --json` and the Prometheus endpoint report
 * the requests the S3 server counted; `stats --watch` redraws; control commands
 * against a non-mount or a dead daemon fail with one line.
 */
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { CLI, daemonPid, ENV, makeFixture } from './mount-fixture.js'

interface Stats {
  s3: { byKind: Record<string, { count: number; bytes: number }> }
  reads: { blocksFromStore: number }
  loads: { files: number; filesDone: number }
  cache: { policy: string; pinnedBytes: number; ttlDroppedBlocks: number; crc32: string }
  errors: { s3: Record<string, number>; reads: Record<string, number> }
  pins: Array<{ path: string; bytes: number }>
  memory: Record<'rssBytes' | 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'memoryTierBytes' | 'memoryTierRetainedBytes', number>
  metricsUrl?: string
}

/** The value of one sample of the exposition text (labels written as in the text). */
function sample(text: string, name: string): number {
  const line = text.split('\n').find(l => l.startsWith(name + ' '))
  return line === undefined ? NaN : Number(line.slice(name.length + 1))
}

t.test('stats and metrics', async t => {
  const fx = await makeFixture(t)
  for (let i = 0; i < 20; i++) await fx.put(`f/${i}.bin`, randomBytes(100_000 + i))
  await fx.put('f/big.bin', randomBytes(10 * 1024 * 1024))
  await fx.mount(['--metrics-port', '0'])
  await fx.resetRequests()
  await fx.sh(`cat ${fx.mountPoint}/f/* > /dev/null`)
  await fx.cli(['pin', `${fx.mountPoint}/f/big.bin`])
  await fx.cli(['load', `${fx.mountPoint}/f`, '--wait'])

  await t.test('stats --json and /metrics match the requests the server counted', async t => {
    const server = await fx.requests()
    const s = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats
    const serverGets = server.getObject + server.rangedGet
    t.equal(s.s3.byKind.get?.count, serverGets, `GETs: ${serverGets}`)
    t.equal(s.s3.byKind.list?.count, server.list, 'LISTs')
    t.equal(s.s3.byKind.head?.count, server.headObject, 'HEADs')
    t.equal(s.cache.policy, 'scan-resistant')
    t.equal(s.cache.crc32, 'isa-l', "the cache's checksums go through the binding's ISA-L")
    t.same(
      s.pins.map(p => p.path),
      ['/f/big.bin'],
    )
    t.ok(s.cache.pinnedBytes >= 10 * 1024 * 1024)
    t.equal(s.loads.filesDone, 21)
    // Path-first lookups list directories instead of asking HEAD: no HEAD, so no NOT_FOUND either.
    t.equal(server.headObject, 0, 'no HEAD')
    t.same(s.errors, { s3: {}, reads: {}, cacheWrites: 0, cacheCorrupt: 0, loadFiles: 0 })
    // The daemon's memory as /proc sees it (sampled a moment apart, so within 64 MiB), the heap inside it.
    const m = s.memory
    const procRss = Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${await daemonPid(fx.bucket, fx.mountPoint)}/status`, 'utf8'))?.[1]) * 1024
    t.ok(Math.abs(m.rssBytes - procRss) < 64 * 1024 * 1024, `rss ${m.rssBytes} vs /proc ${procRss}`)
    t.ok(m.heapUsedBytes > 0 && m.heapUsedBytes <= m.heapTotalBytes && m.heapTotalBytes < m.rssBytes, 'heap within the resident set')
    t.ok(m.externalBytes > 0)
    t.ok(m.memoryTierBytes > 0 && m.memoryTierBytes <= 64 * 1024 * 1024, `block tier ${m.memoryTierBytes} B within --memory-cache-size`)
    t.ok(m.memoryTierRetainedBytes >= m.memoryTierBytes, 'the tier keeps at least what it counts alive')
    t.match(s.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const res = await fetch(s.metricsUrl as string)
    t.equal(res.status, 200)
    const text = await res.text()
    t.equal(sample(text, 's3cachefs_s3_requests_total{kind="get"}'), serverGets, 'counter')
    t.equal(sample(text, 's3cachefs_s3_request_duration_seconds_count{kind="get"}'), serverGets, 'histogram')
    t.equal(sample(text, 's3cachefs_s3_requests_total{kind="list"}'), server.list)
    t.equal(sample(text, 's3cachefs_cache_block_loads_total{source="s3"}'), s.reads.blocksFromStore)
    t.equal(sample(text, 's3cachefs_cache_pinned_bytes'), s.cache.pinnedBytes)
    t.match(text, /# TYPE s3cachefs_s3_request_duration_seconds histogram/)
    t.match(text, /s3cachefs_process_resident_memory_bytes \d+/)
    const table = (await fx.cli(['stats', fx.mountPoint])).stdout
    t.match(table, /eviction\s+scan-resistant; pinned 10\.0 MiB in 10 blocks \(\/f\/big\.bin 10\.0 MiB\)/)
    t.match(table, /loads\s+0 active, 0 objects loading, 21\/21 files/)
    t.match(table, /errors\s+none\n/)
    t.match(table, /memory\s+[\d.]+ MiB resident \(JS heap [\d.]+ MiB of [\d.]+ MiB, outside it [\d.]+ MiB; block tier [\d.]+ (KiB|MiB)\)/)
    t.match(table, /prefetch\s+\d+ job\(s\)/)
  })

  await t.test('stats --watch redraws every second', async t => {
    const child = spawn(process.execPath, [CLI, 'stats', fx.mountPoint, '--watch', '--json'], {
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    // Two snapshots, however slowly the CLI starts on a busy machine; then at most one per second.
    const t0 = Date.now()
    while (out.trim().split('\n').length < 2 && Date.now() - t0 < 15_000) await new Promise(r => setTimeout(r, 50))
    const firstTwoMs = Date.now() - t0
    await new Promise(r => setTimeout(r, 1000))
    child.kill('SIGINT')
    await new Promise(r => child.on('close', r))
    const lines = out.trim().split('\n')
    t.ok(lines.length >= 2 && lines.length <= 2 + Math.ceil((Date.now() - t0 - firstTwoMs) / 1000) + 1, `${lines.length} snapshots`)
    t.ok(lines.every(l => (JSON.parse(l) as { version: number }).version === 1))
  })

  await t.test('control commands fail cleanly against a non-mount and a dead daemon', async t => {
    const stats = await fx.cli(['stats', fx.root])
    t.equal(stats.code, 2)
    t.equal(stats.stderr, `s3cachefs: ${fx.root} is not an s3cachefs mount (no control socket)\n`)
    for (const args of [
      ['load', fx.root, '--wait'],
      ['pin', `${fx.root}/x`],
      ['free', fx.root],
      ['refresh', fx.root],
      ['ttl', fx.root, '1h'],
    ]) {
      const r = await fx.cli(args)
      t.equal(r.code, 2, args.join(' '))
      t.equal(r.stderr, `s3cachefs: ${args[1]} is not inside an s3cachefs mount\n`)
    }
    const pid = await daemonPid(fx.bucket, fx.mountPoint)
    t.ok(pid, 'daemon found')
    await fx.sh(`kill -9 ${pid}`)
    await new Promise(r => setTimeout(r, 300))
    for (const args of [
      ['stats', fx.mountPoint],
      ['load', fx.mountPoint],
      ['free', `${fx.mountPoint}/f`],
      ['pin', `${fx.mountPoint}/f`],
    ]) {
      const r = await fx.cli(args)
      t.equal(r.code, 2, args.join(' '))
      t.equal(r.stderr, `s3cachefs: the s3cachefs daemon of ${fx.mountPoint} is gone; run 's3cachefs unmount ${fx.mountPoint}'\n`)
    }
    t.equal((await fx.cli(['unmount', fx.mountPoint])).code, 0)
  })
})
