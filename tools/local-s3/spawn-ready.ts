/**
 * Starts a server script in a child Node process and waits for the one JSON line it
 * prints on stdout once it listens (`{"event":"ready","endpoint":…,"port":…}`): the
 * local S3 server (local-s3-server.ts) and the synthetic store of the benchmark
 * (tools/bench/env/synthetic-store.ts) both start this way. `killAndWait` stops one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

const START_TIMEOUT_MS = 30_000 // a cold start takes ~0.5 s; 30 s tolerates a loaded machine, longer means it is stuck
const STOP_TIMEOUT_MS = 5_000 // after SIGTERM a server exits within its own 2 s grace; then SIGKILL
const STDERR_TAIL_BYTES = 4096 // enough of a crash report to explain a failed start

/** What every ready line holds; a server may add fields of its own. */
export interface ReadyBase {
  event: 'ready'
  endpoint: string
  port: number
}

export interface SpawnReadyOptions {
  /** Flags for node itself, before the script (e.g. --openssl-legacy-provider). */
  readonly nodeArgs?: readonly string[]
  /** Default true: drop the server's log lines; false forwards them to our stderr. */
  readonly silent?: boolean
}

export interface SpawnedServer<R extends ReadyBase> {
  readonly child: ChildProcess
  readonly ready: R
}

/** Spawns `node [nodeArgs] main ...args`; resolves with its ready line, or kills it and rejects. */
export async function spawnReady<R extends ReadyBase = ReadyBase>(
  main: string,
  args: readonly string[],
  opts: SpawnReadyOptions = {},
): Promise<SpawnedServer<R>> {
  // Test runners put loaders in NODE_OPTIONS (tap's TypeScript and process-info hooks);
  // a server is plain compiled JS and must not pay for or depend on them.
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), main, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
  try {
    return { child, ready: await waitForReady<R>(child, opts.silent ?? true) }
  } catch (err) {
    await killAndWait(child)
    throw err
  }
}

function waitForReady<R extends ReadyBase>(child: ChildProcess, silent: boolean): Promise<R> {
  let stderrTail = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    if (!silent) process.stderr.write(chunk)
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
  })
  return new Promise<R>((resolve, reject) => {
    let settled = false
    const settle = (err: Error | undefined, ready?: R): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.off('exit', onExit)
      if (err === undefined && ready !== undefined) resolve(ready)
      else reject(err)
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      settle(new Error(`server ${child.spawnargs.join(' ')} exited (${signal ?? code}) before it was ready:\n${stderrTail}`))
    const timer = setTimeout(
      () => settle(new Error(`server ${child.spawnargs.join(' ')} not ready after ${START_TIMEOUT_MS} ms:\n${stderrTail}`)),
      START_TIMEOUT_MS,
    )
    child.once('exit', onExit)
    // `on`, not `once`: a later 'error' (a failed kill) must not go unhandled and crash the caller.
    child.on('error', err => settle(err))
    // Keep reading stdout for the child's whole life: a full pipe would block its logging.
    createInterface({ input: child.stdout! }).on('line', line => {
      const ready = settled ? undefined : parseReadyLine<R>(line)
      if (ready !== undefined) settle(undefined, ready)
      else if (!silent) process.stderr.write(`${line}\n`)
    })
  })
}

function parseReadyLine<R extends ReadyBase>(line: string): R | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value = JSON.parse(line) as Partial<ReadyBase>
    return value.event === 'ready' && typeof value.port === 'number' ? (value as R) : undefined
  } catch {
    return undefined
  }
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once the child exited. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(escalate)
  child.stdin?.destroy()
}
