/**
 * `npm run bench:eviction`: does the cache survive epoch scans?
 *
 * An ImageNet-like sample twice the size of the disk cache is read for several
 * epochs, in a new shuffled order each epoch, by parallel readers, with the page
 * cache dropped before each epoch and a small memory cache, once per eviction
 * policy. Per epoch it reports the disk-cache hit ratio (blocks loaded from disk
 * over blocks loaded at all, from `s3cachefs stats`), images/s and S3 GETs. The
 * local S3 server is used without the emulated link: the hit ratio is the measure.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { S3Client } from '@aws-sdk/client-s3'
import type { StatsSnapshot } from '../../src/daemon/stats-snapshot.js'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from '../local-s3/local-s3-server.js'
import { uploadSample } from '../local-s3/sample-dataset.js'
import { quietWarnings } from '../../src/util/quiet-warnings.js'
import { Prng } from './dataset/prng.js'
import { dropPageCache } from './env/page-cache.js'

const run = promisify(execFile)
// tools/dist/tools/bench/ → the daemon's build, dist/cli.js at the repository root.
const CLI = resolve(import.meta.dirname, '../../../../dist/cli.js')
const BUCKET = 'eviction'
const POLICIES = ['lru', 'scan-resistant'] as const
const READERS = 8
/** Small, so the disk cache (not the daemon's memory) is what is measured. */
const MEMORY_CACHE = '8MiB'

interface Row { policy: string; epoch: number; hitRatio: number; imagesPerSecond: number; gets: number }

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: must be a positive number`)
  return v
}

async function main(): Promise<void> {
  quietWarnings('bench:eviction')
  const classes = flag('classes', 20)
  const perClass = flag('files-per-class', 100)
  const epochs = flag('epochs', 3)
  const ratio = flag('dataset-to-cache', 2)
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-eviction-'))
  const server = await startLocalS3Server({ buckets: [BUCKET] })
  const env = { ...process.env, AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey, AWS_REGION: LOCAL_S3_REGION }
  const mountPoint = join(root, 'mnt')
  await mkdir(mountPoint)
  try {
    const s3 = new S3Client({ endpoint: server.endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS } })
    const sample = await uploadSample(s3, { bucket: BUCKET, classes, filesPerClass: perClass, shardBytes: 0, seed: 'eviction' })
    s3.destroy()
    const cacheBytes = Math.max(16 * 1024 * 1024, Math.floor(sample.bytes / ratio))
    log(`${sample.files} files, ${(sample.bytes / 1e6).toFixed(0)} MB; disk cache ${(cacheBytes / 1e6).toFixed(0)} MB (1/${ratio} of the dataset), memory cache ${MEMORY_CACHE}`)
    const rows: Row[] = []
    for (const policy of POLICIES) {
      const cacheDir = join(root, `cache-${policy}`)
      await run(process.execPath, [CLI, 'mount', `s3://${BUCKET}`, mountPoint, '--endpoint-url', server.endpoint, '--cache-dir', cacheDir,
        '--cache-size', String(cacheBytes), '--memory-cache-size', MEMORY_CACHE, '--eviction', policy], { env })
      try {
        const files = (await run('find', [join(mountPoint, 'train'), '-type', 'f'], { maxBuffer: 64 << 20 })).stdout.trim().split('\n')
        for (let epoch = 1; epoch <= epochs; epoch++) rows.push(await runEpoch(policy, epoch, files, mountPoint, root, env, server.stats.bind(server)))
      } finally {
        await run(process.execPath, [CLI, 'unmount', mountPoint], { env })
      }
    }
    const report = renderReport(rows, sample, cacheBytes, ratio)
    const outDir = resolve(import.meta.dirname, '../../../../bench/results', `eviction-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    await mkdir(outDir, { recursive: true })
    await writeFile(join(outDir, 'report.md'), report)
    process.stdout.write('\n' + report + '\n')
    log(`report: ${join(outDir, 'report.md')}`)
  } finally {
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
}

async function runEpoch(policy: string, epoch: number, files: string[], mountPoint: string, root: string, env: NodeJS.ProcessEnv,
  serverStats: () => Promise<{ requests: Record<string, number> }>): Promise<Row> {
  const order = shuffled(files, new Prng(`epoch-${epoch}`))
  const list = join(root, `order-${epoch}`)
  await writeFile(list, order.join('\0'))
  dropPageCache()
  const before = await stats(mountPoint, env)
  const getsBefore = gets((await serverStats()).requests)
  const t0 = performance.now()
  await run('bash', ['-c', `xargs -0 -P ${READERS} -n 16 cat < '${list}' > /dev/null`], { maxBuffer: 1 << 20 })
  const seconds = (performance.now() - t0) / 1000
  const after = await stats(mountPoint, env)
  const disk = after.reads.blocksFromDisk - before.reads.blocksFromDisk
  const store = after.reads.blocksFromStore - before.reads.blocksFromStore
  const row = {
    policy, epoch, hitRatio: disk + store === 0 ? 0 : disk / (disk + store),
    imagesPerSecond: files.length / seconds, gets: gets((await serverStats()).requests) - getsBefore,
  }
  log(`${policy} epoch ${epoch}: hit ratio ${(row.hitRatio * 100).toFixed(1)}%, ${row.imagesPerSecond.toFixed(0)} images/s, ${row.gets} GETs`)
  return row
}

function renderReport(rows: Row[], sample: { files: number; bytes: number }, cacheBytes: number, ratio: number): string {
  const lines = [
    '# Eviction under epoch scans',
    '',
    `${sample.files} ImageNet-like files (${(sample.bytes / 1e6).toFixed(0)} MB) read in a new shuffled order every epoch by ${READERS} readers; ` +
      `disk cache ${(cacheBytes / 1e6).toFixed(0)} MB (the dataset is ${ratio}× the cache), memory cache ${MEMORY_CACHE}, page cache dropped before each epoch. ` +
      'Hit ratio: blocks loaded from the disk cache over blocks loaded at all. Epoch 1 starts empty.',
    '',
    '| policy | epoch | hit ratio | images/s | S3 GETs |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(r => `| ${r.policy} | ${r.epoch} | ${(r.hitRatio * 100).toFixed(1)}% | ${r.imagesPerSecond.toFixed(0)} | ${r.gets} |`),
  ]
  return lines.join('\n') + '\n'
}

function shuffled<T>(items: readonly T[], rng: Prng): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

async function stats(mountPoint: string, env: NodeJS.ProcessEnv): Promise<StatsSnapshot> {
  return JSON.parse((await run(process.execPath, [CLI, 'stats', mountPoint, '--json'], { env })).stdout) as StatsSnapshot
}

function gets(requests: Record<string, number>): number {
  return (requests.getObject ?? 0) + (requests.rangedGet ?? 0)
}

function log(msg: string): void {
  process.stdout.write(`bench:eviction: ${msg}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:eviction: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
