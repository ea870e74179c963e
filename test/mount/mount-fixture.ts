/**
 * Mount tests' fixture: a real local S3 server (s3rver with our fixes) on
 * 127.0.0.1:0, a fresh bucket, and the built CLI spawned as a child process on a
 * temporary mount point. Teardown is registered at once: unmount through the CLI,
 * then `fusermount -uz`, then the server. The test process never serves a mount:
 * it only reads mounts served by the daemon child.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SHUTDOWN_FLUSH_MS, UNMOUNT_WAIT_MS } from '../../src/config/defaults.js'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server, type LocalS3Server, type RequestStats } from '../../tools/local-s3/local-s3-server.js'

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js')
const run = promisify(execFile)

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

interface TapLike {
  teardown(fn: () => unknown): void
}

export interface Fixture {
  server: LocalS3Server
  s3: S3Client
  bucket: string
  root: string
  mountPoint: string
  cacheDir: string
  /** Mounts with the standard flags plus `extra` (and `env` for the daemon); rejects with the CLI's stderr on failure. */
  mount(extra?: string[], env?: Record<string, string>): Promise<void>
  unmount(): Promise<void>
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>
  put(key: string, body: Buffer | string): Promise<void>
  del(key: string): Promise<void>
  requests(): Promise<RequestStats['requests']>
  resetRequests(): Promise<void>
  /** Runs a shell command in a child process (never in the test process: it may touch the mount). */
  sh(cmd: string): Promise<CliResult>
}

export const ENV = {
  AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
  AWS_REGION: LOCAL_S3_REGION,
}

export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise(resolvePromise => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', code => {
      clearTimeout(timer)
      resolvePromise({ code: code ?? -1, stdout, stderr })
    })
  })
}

/**
 * The pid of the daemon serving `mountPoint` ('' if none): the node process running
 * `dist/cli.js mount s3://BUCKET MOUNTPOINT`, whatever node flags come first. Anchored on
 * the node binary, so the shell running pgrep (whose command line holds the pattern) is not matched.
 */
export async function daemonPid(bucket: string, mountPoint: string): Promise<string> {
  return (await sh(`pgrep -f "^[^ ]*node( [^ ]+)* [^ ]*dist/cli.js mount s3://${bucket} ${mountPoint}( |$)" | head -1`)).stdout.trim()
}

export async function sh(cmd: string, timeoutMs = 120_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('bash', ['-c', cmd], { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

export async function makeFixture(t: TapLike, opts: { bucket?: string } = {}): Promise<Fixture> {
  const bucket = opts.bucket ?? `b${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
  const server = await startLocalS3Server({ buckets: [] })
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-mt-'))
  const mountPoint = join(root, 'mnt')
  const cacheDir = join(root, 'cache')
  await mkdir(mountPoint)
  const s3 = new S3Client({ endpoint: server.endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS } })
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  let mounted = false

  const fx: Fixture = {
    server,
    s3,
    bucket,
    root,
    mountPoint,
    cacheDir,
    mount: async (extra = [], env = {}) => {
      const r = await runCli(
        ['mount', `s3://${bucket}`, mountPoint, '--endpoint-url', server.endpoint, '--cache-dir', cacheDir, '--log-level', 'info', ...extra],
        env,
      )
      if (r.code !== 0) throw new Error(`mount failed (${r.code}): ${r.stderr}`)
      mounted = true
    },
    unmount: async () => {
      const r = await runCli(['unmount', mountPoint])
      if (r.code !== 0) throw new Error(`unmount failed (${r.code}): ${r.stderr}`)
      mounted = false
    },
    cli: runCli,
    put: async (key, body) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    },
    del: async key => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    },
    requests: async () => (await server.stats()).requests,
    resetRequests: () => server.resetStats(),
    sh,
  }
  t.teardown(async () => {
    if (mounted) {
      // Long enough for `unmount --force` to give up its flush, then SIGKILL a daemon that does not stop...
      await runCli(['unmount', mountPoint, '--force'], {}, 2 * UNMOUNT_WAIT_MS + SHUTDOWN_FLUSH_MS + 30_000).catch(() => undefined)
      // ...and should the CLI itself be stuck, no daemon outlives its test.
      const left = await daemonPid(bucket, mountPoint)
      if (left !== '') await sh(`kill -9 ${left}`)
    }
    await sh(`grep -q " ${mountPoint} " /proc/mounts && fusermount -uz ${mountPoint}; true`)
    s3.destroy()
    await server.stop()
    // For a flaky failure: S3CACHEFS_TEST_LOGS=DIR keeps every mount's daemon log there.
    const keep = process.env.S3CACHEFS_TEST_LOGS
    if (keep !== undefined) await sh(`mkdir -p '${keep}' && cp '${cacheDir}/s3cachefs.log' '${keep}/${basename(root)}.log'; true`)
    await rm(root, { recursive: true, force: true })
  })
  return fx
}
