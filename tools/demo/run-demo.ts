/**
 * The README's first command: the whole product on an embedded default.
 *
 * Starts the local S3 server on loopback, uploads a small ImageNet-like sample
 * (real JPEGs of ImageNet's size distribution, plus one shard), mounts it with
 * the built CLI (a child daemon: this process never serves the mount it reads),
 * reads everything with parallel readers twice — cold, then with the page cache
 * dropped — and prints files/s, MB/s, S3 GETs and the cache hit ratio of each
 * epoch, then unmounts and stops the server.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { S3Client } from '@aws-sdk/client-s3'
import { dropPageCache } from '../bench/env/page-cache.js'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from '../local-s3/local-s3-server.js'
import { uploadSample } from '../local-s3/sample-dataset.js'
import type { StatsSnapshot } from '../../src/daemon/stats-snapshot.js'
import { quietWarnings } from '../../src/util/quiet-warnings.js'

const run = promisify(execFile)
// tools/dist/tools/demo/ → the daemon's build, dist/cli.js at the repository root.
const CLI = resolve(import.meta.dirname, '../../../../dist/cli.js')
const BUCKET = 'sample'
const CLASSES = 10
const FILES_PER_CLASS = 100
const SHARD_BYTES = 64 * 1024 * 1024
const READERS = 8
const SEED = 'demo'

interface Epoch {
  name: string
  seconds: number
  files: number
  bytes: number
  gets: number
  hitRatio: number
  dropped: boolean
}

async function main(): Promise<void> {
  quietWarnings('demo')
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-demo-'))
  const mountPoint = join(root, 'mnt')
  await mkdir(mountPoint)
  const server = await startLocalS3Server({ buckets: [BUCKET] })
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_S3_REGION,
  }
  let mounted = false
  const cleanup = async () => {
    if (mounted) await run(process.execPath, [CLI, 'unmount', mountPoint, '--force'], { env }).catch(() => undefined)
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
  process.once('SIGINT', () => {
    cleanup().finally(() => process.exit(130))
  })
  try {
    const s3 = new S3Client({ endpoint: server.endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS } })
    const uploaded = await uploadSample(s3, { bucket: BUCKET, classes: CLASSES, filesPerClass: FILES_PER_CLASS, shardBytes: SHARD_BYTES, seed: SEED })
    s3.destroy()
    log(`local S3 server ${server.endpoint}: ${uploaded.files} files, ${mb(uploaded.bytes)} MB in s3://${BUCKET}`)

    await run(process.execPath, [CLI, 'mount', `s3://${BUCKET}`, mountPoint, '--endpoint-url', server.endpoint, '--cache-dir', join(root, 'cache')], { env })
    mounted = true
    log(`mounted s3://${BUCKET} on ${mountPoint}`)
    const epochs: Epoch[] = []
    for (const name of ['1 (cold)', '2 (warm, page cache dropped)']) {
      const dropped = dropPageCache().dropped
      const before = await stats(mountPoint, env)
      const getsBefore = await gets(server.stats())
      const t0 = performance.now()
      const bytes = await readTree(mountPoint)
      const seconds = (performance.now() - t0) / 1000
      const after = await stats(mountPoint, env)
      const loadedFromDisk = after.reads.blocksFromDisk - before.reads.blocksFromDisk
      const loadedFromS3 = after.reads.blocksFromStore - before.reads.blocksFromStore
      epochs.push({
        name,
        seconds,
        files: uploaded.files,
        bytes,
        dropped,
        gets: (await gets(server.stats())) - getsBefore,
        hitRatio: loadedFromDisk + loadedFromS3 === 0 ? 1 : loadedFromDisk / (loadedFromDisk + loadedFromS3),
      })
    }
    printTable(epochs)
    await run(process.execPath, [CLI, 'unmount', mountPoint], { env })
    mounted = false
    log('unmounted')
  } finally {
    await cleanup()
  }
}

/** Lists and reads every file with parallel reader processes, like a data loader; returns bytes read. */
async function readTree(dir: string): Promise<number> {
  const { stdout } = await run('bash', ['-c', `cd '${dir}' && find . -type f -print0 | xargs -0 -P ${READERS} -n 32 cat | wc -c`], { maxBuffer: 1 << 20 })
  return Number(stdout.trim())
}

async function stats(mountPoint: string, env: NodeJS.ProcessEnv): Promise<StatsSnapshot> {
  const { stdout } = await run(process.execPath, [CLI, 'stats', mountPoint, '--json'], { env })
  return JSON.parse(stdout) as StatsSnapshot
}

async function gets(s: Promise<{ requests: Record<string, number> }>): Promise<number> {
  const r = (await s).requests
  return (r.getObject ?? 0) + (r.rangedGet ?? 0)
}

function printTable(epochs: Epoch[]): void {
  const rows = [['epoch', 'files/s', 'MB/s', 'seconds', 'S3 GETs', 'cache hit ratio']]
  for (const e of epochs) {
    rows.push([
      e.name + (e.dropped ? '' : ' [page cache NOT dropped: not root?]'),
      (e.files / e.seconds).toFixed(0),
      (e.bytes / 1e6 / e.seconds).toFixed(1),
      e.seconds.toFixed(2),
      String(e.gets),
      `${(e.hitRatio * 100).toFixed(1)}%`,
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  process.stdout.write('\n' + rows.map(r => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n') + '\n\n')
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1)
}

function log(msg: string): void {
  process.stdout.write(`demo: ${msg}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
