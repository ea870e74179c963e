/**
 * Many-node tests' fixture: one origin S3 server with the dataset bucket, a second
 * S3 server holding the shared tier's bucket (its own process, so tests can count
 * its requests apart and kill it), optionally Debian's redis-server on a free
 * loopback port, and "nodes": daemons (child processes) mounting the same bucket at
 * their own mount points with their own cache directories. Teardown is registered
 * at once: every node unmounted (then `fusermount -uz`), Redis and the servers stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server, type LocalS3Server } from '../../tools/local-s3/local-s3-server.js'
import type { StatsSnapshot } from '../../src/daemon/stats-snapshot.js'
import { controlRequest } from '../../src/cli/control-client.js'
import { runCli, sh, type CliResult } from './mount-fixture.js'
import { freePort } from '../../src/util/free-port.js'

interface TapLike {
  teardown(fn: () => unknown): void
}

export interface Node {
  readonly name: string
  readonly mountPoint: string
  readonly cacheDir: string
  stats(): Promise<StatsSnapshot>
  unmount(): Promise<void>
}

export interface ManyNodesFixture {
  origin: LocalS3Server
  tier: LocalS3Server
  bucket: string
  tierBucket: string
  root: string
  /** `redis://127.0.0.1:PORT` once startRedis() ran. */
  redisUrl: string | undefined
  startRedis(): Promise<string>
  stopRedis(): Promise<void>
  /** Mounts the source on a new node with --shared-cache on the tier server (plus `extra`). */
  node(name: string, extra?: string[]): Promise<Node>
  put(key: string, body: Buffer | string): Promise<void>
  /** Writes an object straight into the tier bucket (to plant corrupt or foreign blocks). */
  putTier(key: string, body: Buffer): Promise<void>
  originGets(): Promise<number>
  sh(cmd: string): Promise<CliResult>
}

const s3Of = (server: LocalS3Server) =>
  new S3Client({
    endpoint: server.endpoint,
    region: LOCAL_S3_REGION,
    forcePathStyle: true,
    credentials: { ...LOCAL_S3_CREDENTIALS },
  })

export async function makeManyNodes(t: TapLike): Promise<ManyNodesFixture> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
  const bucket = `data${id}`
  const tierBucket = `tier${id}`
  const [origin, tier] = await Promise.all([startLocalS3Server({ buckets: [] }), startLocalS3Server({ buckets: [] })])
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-nodes-'))
  const originS3 = s3Of(origin)
  const tierS3 = s3Of(tier)
  await originS3.send(new CreateBucketCommand({ Bucket: bucket }))
  await tierS3.send(new CreateBucketCommand({ Bucket: tierBucket }))
  const mounted: string[] = []
  let redis: ChildProcess | undefined

  const fx: ManyNodesFixture = {
    origin,
    tier,
    bucket,
    tierBucket,
    root,
    redisUrl: undefined,
    async startRedis() {
      const port = await freePort()
      const dir = join(root, 'redis')
      await mkdir(dir, { recursive: true })
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
      fx.redisUrl = `redis://127.0.0.1:${port}`
      for (let i = 0; i < 100; i++) {
        if ((await sh(`redis-cli -p ${port} ping`)).stdout.includes('PONG')) return fx.redisUrl
        await new Promise(r => setTimeout(r, 50))
      }
      throw new Error('redis-server did not start')
    },
    async stopRedis() {
      const r = redis
      redis = undefined
      if (r === undefined || r.exitCode !== null) return
      const exited = new Promise(resolve => r.once('exit', resolve))
      r.kill('SIGKILL')
      await exited
    },
    async node(name, extra = []) {
      const mountPoint = join(root, name, 'mnt')
      const cacheDir = join(root, name, 'cache')
      await mkdir(mountPoint, { recursive: true })
      const r = await runCli([
        'mount',
        `s3://${bucket}`,
        mountPoint,
        '--endpoint-url',
        origin.endpoint,
        '--cache-dir',
        cacheDir,
        '--log-level',
        'info',
        '--shared-cache',
        `s3://${tierBucket}/blocks`,
        '--shared-cache-endpoint-url',
        tier.endpoint,
        ...extra,
      ])
      if (r.code !== 0) throw new Error(`mount of ${name} failed (${r.code}): ${r.stderr}`)
      mounted.push(mountPoint)
      return {
        name,
        mountPoint,
        cacheDir,
        // Straight from the daemon's control socket (never through the FUSE mount): a CLI process costs a second here.
        stats: async () => (await controlRequest(mountPoint, 'stats')) as StatsSnapshot,
        unmount: async () => {
          const u = await runCli(['unmount', mountPoint])
          if (u.code !== 0) throw new Error(`unmount of ${name} failed: ${u.stderr}`)
          mounted.splice(mounted.indexOf(mountPoint), 1)
        },
      }
    },
    put: async (key, body) => {
      await originS3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    },
    putTier: async (key, body) => {
      await tierS3.send(new PutObjectCommand({ Bucket: tierBucket, Key: key, Body: body }))
    },
    originGets: async () => {
      const r = (await origin.stats()).requests
      return r.getObject + r.rangedGet
    },
    sh,
  }
  t.teardown(async () => {
    for (const mp of [...mounted]) {
      await runCli(['unmount', mp, '--force']).catch(() => undefined)
      await sh(`grep -q " ${mp} " /proc/mounts && fusermount -uz ${mp}; true`)
    }
    await fx.stopRedis()
    originS3.destroy()
    tierS3.destroy()
    await Promise.all([origin.stop(), tier.stop()])
    await rm(root, { recursive: true, force: true })
  })
  return fx
}
