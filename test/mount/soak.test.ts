/**
 * Soak: 16 readers (in a child process: the test process never reads the mount)
 * read random files of a dataset larger than the cache, whole or by random
 * ranges, for S3CACHEFS_SOAK_SECONDS (default 30 in CI), while the fault proxy
 * answers a random few GETs with 503, 500, resets before the headers or in the
 * body, short bodies and stalls. Every read is checked against its sha256: no
 * wrong byte, ever; a read may fail only when every attempt of one GET failed
 * (rare); the daemon's RSS stays under a ceiling while the caches churn.
 */
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { startFaultProxy } from '../../tools/local-s3/fault-proxy.js'
import { rssPeak, seededContent } from '../helpers/daemon-memory.js'
import { daemonPid, makeFixture, sh } from './mount-fixture.js'

const MiB = 1024 * 1024
const SECONDS = Number(process.env.S3CACHEFS_SOAK_SECONDS ?? 30)
const READERS = 16
/** Memory cache 16 MiB + read-ahead windows (128 MiB at most) + in-flight budget (160 MiB) + Node and the SDK (~100 MiB): the readers' small files take no windows and ~2 MiB in flight each, so the room to spare is large. */
const RSS_CEILING_BYTES = 400 * MiB

const READER = `
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
const [manifestPath, root, seconds, readers] = process.argv.slice(2)
const manifest = JSON.parse(await (await import('node:fs/promises')).readFile(manifestPath, 'utf8'))
const keys = Object.keys(manifest)
const deadline = Date.now() + Number(seconds) * 1000
const out = { reads: 0, bytes: 0, errors: 0, mismatches: 0, firstError: undefined, firstMismatch: undefined }
async function one() {
  const key = keys[Math.floor(Math.random() * keys.length)]
  const want = manifest[key]
  let fh
  try {
    fh = await open(root + '/' + key, 'r')
    if (Math.random() < 0.5) {
      const buf = await fh.readFile()
      out.bytes += buf.length
      if (createHash('sha256').update(buf).digest('hex') !== want.sha) { out.mismatches++; out.firstMismatch ??= key }
    } else {
      const len = Math.min(want.size, 1 + Math.floor(Math.random() * 300000))
      const pos = Math.floor(Math.random() * (want.size - len + 1))
      const buf = Buffer.alloc(len)
      const { bytesRead } = await fh.read(buf, 0, len, pos)
      out.bytes += bytesRead
      const h = createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex')
      // Ranges are checked against the seeded content: byte i of a file is want.bytes[i] (see the test).
      const expect = createHash('sha256').update(contentOf(want, pos, len)).digest('hex')
      if (bytesRead !== len || h !== expect) { out.mismatches++; out.firstMismatch ??= key + '@' + pos }
    }
    out.reads++
  } catch (err) {
    out.errors++
    out.firstError ??= key + ': ' + err.code
  } finally {
    await fh?.close()
  }
}
function contentOf(want, pos, len) {
  const b = Buffer.alloc(len)
  for (let i = 0; i < len; i++) b[i] = byteAt(want.seed, pos + i)
  return b
}
function byteAt(seed, i) { return (Math.imul(i + seed, 2654435761) >>> 24) & 0xff }
await Promise.all(Array.from({ length: Number(readers) }, async () => { while (Date.now() < deadline) await one() }))
process.stdout.write(JSON.stringify(out))
`

t.test(`soak: ${READERS} readers for ${SECONDS}s under random faults`, async t => {
  const fx = await makeFixture(t)
  const proxy = await startFaultProxy(fx.server.endpoint)
  t.teardown(() => proxy.stop())
  const manifest: Record<string, { sha: string; size: number; seed: number }> = {}
  const sizes = [...Array.from({ length: 150 }, (_, i) => 20_000 + ((i * 7919) % 400_000)), 3 * MiB + 1, 9 * MiB + 5, 24 * MiB + 7]
  for (let i = 0; i < sizes.length; i += 16) {
    await Promise.all(
      sizes.slice(i, i + 16).map(async (size, j) => {
        const seed = i + j + 1
        const key = `soak/d${(i + j) % 5}/f${i + j}.bin`
        const data = seededContent(seed, size)
        manifest[key] = { sha: createHash('sha256').update(data).digest('hex'), size, seed }
        await fx.put(key, data)
      }),
    )
  }
  await fx.put('noise', randomBytes(10))
  await fx.mount(['--endpoint-url', proxy.endpoint, '--cache-size', '32MiB', '--memory-cache-size', '16MiB'])
  // Anchored on the node binary: the bash running pgrep has the pattern in its own command line (and pids wrap).
  const pid = await daemonPid(fx.bucket, fx.mountPoint)
  t.ok(pid, 'daemon found')
  for (const [, spec] of [
    ['503', { status: 503 }],
    ['500', { status: 500 }],
    ['reset', { reset: 'connection' as const }],
    ['body reset', { body: 'reset' as const }],
    ['short body', { body: 'short' as const }],
    ['stall', { delayMs: 300 }],
  ] as const)
    proxy.arm({ ...spec, match: 'GET', probability: 0.02, count: 1_000_000 })

  const script = join(fx.root, 'reader.mjs')
  const manifestPath = join(fx.root, 'manifest.json')
  await writeFile(script, READER)
  await writeFile(manifestPath, JSON.stringify(manifest))
  const sampler = rssPeak(pid, 500)
  // The kernel's page cache would serve most reads after a while: drop it now and then, so reads keep reaching the daemon.
  const dropper = setInterval(() => {
    sh('echo 1 > /proc/sys/vm/drop_caches').catch(() => {})
  }, 3000)
  await fx.resetRequests()
  const r = await sh(`node ${script} ${manifestPath} ${fx.mountPoint} ${SECONDS} ${READERS}`, (SECONDS + 120) * 1000)
  const peakRss = sampler.stop()
  clearInterval(dropper)
  const req = await fx.requests()
  t.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { reads: number; bytes: number; errors: number; mismatches: number; firstError?: string; firstMismatch?: string }
  t.comment(
    `${out.reads} reads, ${(out.bytes / MiB).toFixed(0)} MiB, ${out.errors} errors, ${req.getObject + req.rangedGet} GETs reached the store, ` +
      `${proxy.stats().faulted} faults injected, peak RSS ${(peakRss / MiB).toFixed(0)} MiB`,
  )
  t.ok(out.reads > 100, `${out.reads} reads`)
  t.equal(out.mismatches, 0, `no wrong byte (${out.firstMismatch ?? 'none'})`)
  t.ok(out.errors <= Math.max(1, out.reads * 0.002), `reads failing only when every attempt failed: ${out.errors} (${out.firstError ?? 'none'})`)
  t.ok(proxy.stats().faulted > 20, `${proxy.stats().faulted} faults injected`)
  t.ok(peakRss > 0 && peakRss < RSS_CEILING_BYTES, `peak RSS ${(peakRss / MiB).toFixed(0)} MiB under ${RSS_CEILING_BYTES / MiB} MiB`)
  proxy.clear()
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { cache: { usedBytes: number; maxBytes: number } }
  t.ok(stats.cache.usedBytes <= stats.cache.maxBytes, `cache ${stats.cache.usedBytes} B within its bound`)
})
