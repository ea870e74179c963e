/**
 * Starts the local S3 server (s3rver plus our fixes, counters and fault
 * switch) as a child process and hands tests a small control object.
 *
 * A child process, not an in-process server: a test process that also serves
 * S3 would share its event loop and libuv pool with the daemon's traffic it
 * measures, and the server must survive the test process blocking on a FUSE
 * mount. The child is `node --openssl-legacy-provider
 * tools/dist/tools/local-s3/local-s3-server-main.js` (the compiled file, found from the
 * project root, so tests running this module from src/ through a TypeScript
 * loader still start the built server; run `npx tsc -p tsconfig.json` first).
 * It announces readiness with one JSON line on stdout (spawn-ready.ts); stop() sends SIGTERM
 * and waits; a process 'exit' hook and the child's watch on its stdin kill it
 * if the parent goes away without stop().
 *
 * Clients: endpoint with forcePathStyle: true, region us-east-1, credentials
 * S3RVER/S3RVER (s3rver's only account; any other access key is refused).
 *
 * Where it still differs from real S3 (left as is on purpose):
 * - multipart ETags are the MD5 of the whole object, without the `-N` suffix;
 * - SigV4 signatures, payload hashes and checksums are not verified;
 * - a PUT overwrites the object's file in place, so a GET racing a PUT of the
 *   same key can read a mix; change objects between reads in tests;
 * - no versioning, no conditional writes (If-None-Match on PUT), GetObject's
 *   partNumber is ignored, ListObjectVersions is s3rver's;
 * - keys map to file paths: `a//b` and `a/b` collide, `.`/`..` parts are unsafe (segments
 *   over 200 bytes are stored under hashed names, s3rver-fixes/long-segments.ts).
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FaultSpec } from './fault-injector.js'
import type { ReadyLine } from './local-s3-server-main.js'
import type { RequestStats } from './request-stats.js'
import { killAndWait, spawnReady } from './spawn-ready.js'

export type { FaultSpec } from './fault-injector.js'
export type { RequestStats } from './request-stats.js'

// Not frozen: the AWS SDK writes a `$source` field into the credentials object it is given.
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
export const LOCAL_S3_REGION = 'us-east-1'

const MAIN_RELATIVE_PATH = path.join('tools', 'dist', 'tools', 'local-s3', 'local-s3-server-main.js')
const CONTROL_TIMEOUT_MS = 10_000 // a control request is answered in ms unless the server hangs

export interface LocalS3ServerOptions {
  /** Store root (one sub-directory per bucket). Default: a fresh temp directory, removed by stop(). */
  directory?: string
  /** Port on 127.0.0.1. Default 0: a free port. */
  port?: number
  /** Buckets to create at start (kept if they exist). Default none. */
  buckets?: string[]
  /** Default true: drop the server's log lines; false forwards them to our stderr. */
  silent?: boolean
}

export interface LocalS3Server {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string
  port: number
  directory: string
  /** The server process (its CPU is charged to benchmark workloads). */
  pid: number
  /** Request counters since start or the last reset. */
  stats(): Promise<RequestStats>
  resetStats(): Promise<void>
  /** Arms a fault for the next matching request(s); rejects when the server refuses the spec. */
  injectFault(f: FaultSpec): Promise<void>
  /** Drops every armed fault. */
  clearFaults(): Promise<void>
  /** Kills the server and waits for it; removes the directory if we created it. Idempotent. */
  stop(): Promise<void>
}

/** The folder holding package.json, above this module whether it runs from tools/ or tools/dist/. */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('local S3 server: no package.json above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}

export async function startLocalS3Server(opts: LocalS3ServerOptions = {}): Promise<LocalS3Server> {
  const mainPath = path.join(projectRoot(), MAIN_RELATIVE_PATH)
  if (!existsSync(mainPath)) {
    throw new Error(`local S3 server: ${mainPath} is missing; build first with npx tsc -p tsconfig.json`)
  }
  const ownsDirectory = opts.directory === undefined
  const directory = opts.directory ?? (await mkdtemp(path.join(os.tmpdir(), 's3cachefs-s3-')))
  const args = ['--port', String(opts.port ?? 0), '--directory', directory]
  for (const bucket of opts.buckets ?? []) args.push('--bucket', bucket)
  if (opts.silent ?? true) args.push('--silent')
  args.push('--exit-on-stdin-close')
  try {
    const { child, ready } = await spawnReady<ReadyLine>(mainPath, args, { nodeArgs: ['--openssl-legacy-provider'], silent: opts.silent ?? true })
    trackForExit(child, ownsDirectory ? directory : undefined)
    return new LocalS3ServerProcess(child, ready, ownsDirectory)
  } catch (err) {
    if (ownsDirectory) await rm(directory, { recursive: true, force: true })
    throw err
  }
}

class LocalS3ServerProcess implements LocalS3Server {
  readonly endpoint: string
  readonly port: number
  readonly directory: string
  readonly pid: number
  #child: ChildProcess
  #ownsDirectory: boolean
  #stopping: Promise<void> | undefined

  constructor(child: ChildProcess, ready: ReadyLine, ownsDirectory: boolean) {
    this.endpoint = ready.endpoint
    this.port = ready.port
    this.directory = ready.directory
    this.pid = ready.pid
    this.#child = child
    this.#ownsDirectory = ownsDirectory
    // The server must never keep the test process alive; the exit hook reaps it.
    for (const handle of [child, child.stdin, child.stdout, child.stderr]) unref(handle)
  }

  async stats(): Promise<RequestStats> {
    return JSON.parse(await this.#control('GET', '/__s3cachefs/stats')) as RequestStats
  }

  async resetStats(): Promise<void> {
    await this.#control('POST', '/__s3cachefs/stats/reset')
  }

  async injectFault(f: FaultSpec): Promise<void> {
    await this.#control('POST', '/__s3cachefs/faults', JSON.stringify(f))
  }

  async clearFaults(): Promise<void> {
    await this.#control('DELETE', '/__s3cachefs/faults')
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await killAndWait(this.#child)
      if (this.#ownsDirectory) await rm(this.directory, { recursive: true, force: true })
    })()
    return this.#stopping
  }

  async #control(method: string, urlPath: string, body?: string): Promise<string> {
    const { status, text } = await controlRequest(this.port, method, urlPath, body)
    if (status >= 300) throw new Error(`local S3 server: ${method} ${urlPath} answered ${status}: ${text}`)
    return text
  }
}

interface ControlReply {
  status: number
  text: string
}

function controlRequest(port: number, method: string, urlPath: string, body?: string): Promise<ControlReply> {
  const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
  // agent: false — no keep-alive socket outlives the call and holds the event loop open.
  const options = { host: '127.0.0.1', port, method, path: urlPath, headers, agent: false, timeout: CONTROL_TIMEOUT_MS }
  return new Promise((resolve, reject) => {
    const req = http.request(options, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`local S3 server: ${method} ${urlPath} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

function unref(handle: unknown): void {
  const candidate = handle as { unref?: unknown } | null | undefined
  if (typeof candidate?.unref === 'function') (candidate as { unref(): void }).unref()
}

// Children still running when this process exits, with the temp directory each
// was given; the hook kills them and removes the directories, synchronously as
// an 'exit' handler must.
const liveChildren = new Map<ChildProcess, string | undefined>()
let exitHookInstalled = false

function trackForExit(child: ChildProcess, ownedDirectory: string | undefined): void {
  if (!exitHookInstalled) {
    process.on('exit', cleanUpLiveChildren)
    exitHookInstalled = true
  }
  liveChildren.set(child, ownedDirectory)
  child.once('exit', () => liveChildren.delete(child))
}

function cleanUpLiveChildren(): void {
  for (const [child, directory] of liveChildren) {
    child.kill('SIGKILL')
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  }
}
