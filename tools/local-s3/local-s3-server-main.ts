/**
 * Entry point of the local S3 server process (s3rver with our fixes, request
 * counters and fault switch; see local-s3-app.ts). Started by
 * startLocalS3Server() for tests, and by hand, the demo and the benchmark:
 *
 *   node --openssl-legacy-provider tools/dist/tools/local-s3/local-s3-server-main.js \
 *     --port 9000 --directory /tmp/s3 --bucket demo
 *
 * When listening it prints one JSON line on stdout:
 *   {"event":"ready","endpoint":"http://127.0.0.1:9000","port":9000,...}
 * which is the readiness signal the parent waits for. SIGTERM/SIGINT close
 * it; with --exit-on-stdin-close it also exits when its parent goes away.
 * (--openssl-legacy-provider is no longer needed since our listing replaces
 * s3rver's DES continuation tokens; it stays harmless belt and braces.)
 */
import { mkdir, mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type S3rver from 's3rver'
import { createLocalS3App } from './local-s3-app.js'

const USAGE =
  'usage: node --openssl-legacy-provider tools/dist/tools/local-s3/local-s3-server-main.js ' +
  '[--port N] [--address IP] [--directory DIR] [--bucket NAME]... [--silent] [--exit-on-stdin-close]'
// Node's default of 5 s closes idle keep-alive sockets so soon that a client
// reusing one often races the close and sees ECONNRESET (an extra request
// once retried, a failure when not). 30 s outlasts the idle gaps of a test
// run; clients must still retry resets, as they must against real S3.
const KEEP_ALIVE_TIMEOUT_MS = 30_000
const SHUTDOWN_GRACE_MS = 2000 // bound on close(); it should take milliseconds once connections are cut

/** The readiness line, printed once as JSON on stdout. */
export interface ReadyLine {
  event: 'ready'
  endpoint: string
  address: string
  port: number
  directory: string
  buckets: string[]
  pid: number
}

interface MainArgs {
  port: number
  address: string
  directory: string | undefined
  buckets: string[]
  silent: boolean
  exitOnStdinClose: boolean
}

class UsageError extends Error {}

function parseMainArgs(argv: string[]): MainArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      address: { type: 'string', default: '127.0.0.1' },
      directory: { type: 'string' },
      bucket: { type: 'string', multiple: true, default: [] },
      silent: { type: 'boolean', default: false },
      'exit-on-stdin-close': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const port = Number(values.port)
  if (!/^\d+$/.test(values.port) || port > 65535) {
    throw new UsageError('--port: an integer from 0 to 65535 (0 picks a free port)')
  }
  for (const bucket of values.bucket) {
    // S3's bucket naming rule, simplified; also keeps names from escaping the store directory
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new UsageError(`--bucket ${bucket}: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit`)
    }
  }
  return {
    port,
    address: values.address,
    directory: values.directory,
    buckets: values.bucket,
    silent: values.silent,
    exitOnStdinClose: values['exit-on-stdin-close'],
  }
}

function installShutdown(s3rver: S3rver, exitOnStdinClose: boolean): void {
  let closing = false
  const shutdown = (): void => {
    if (closing) return
    closing = true
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref()
    s3rver.httpServer?.closeAllConnections() // a test server abandons in-flight requests (e.g. under a delay fault)
    s3rver.close().then(
      () => process.exit(0),
      () => process.exit(0),
    )
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
  if (exitOnStdinClose) {
    // The parent holds our stdin open; EOF means it exited, even by SIGKILL.
    process.stdin.once('end', shutdown)
    process.stdin.once('error', shutdown)
    process.stdin.resume()
  }
}

async function main(): Promise<void> {
  const args = parseMainArgs(process.argv.slice(2))
  const directory = path.resolve(args.directory ?? (await mkdtemp(path.join(os.tmpdir(), 's3cachefs-s3-'))))
  await mkdir(directory, { recursive: true })
  const app = createLocalS3App({ ...args, directory })
  const address = await app.s3rver.run()
  if (app.s3rver.httpServer !== undefined) app.s3rver.httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  installShutdown(app.s3rver, args.exitOnStdinClose)
  const ready: ReadyLine = {
    event: 'ready',
    endpoint: `http://${address.address}:${address.port}`,
    address: address.address,
    port: address.port,
    directory,
    buckets: args.buckets,
    pid: process.pid,
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`)
}

main().catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    process.exit(2)
  }
  process.stderr.write(`local-s3-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
