/**
 * `s3cachefs mount`: validates everything, then starts the daemon as a child
 * process and returns once the mount is live (or stays attached with --foreground).
 *
 * The same command runs in two roles. The user's process resolves the config,
 * checks the mount point and cache directory, and spawns itself with
 * S3CACHEFS_DAEMON=1 (UV_THREADPOOL_SIZE set before libuv starts, V8's heap flags
 * before the heap exists). The daemon reports `{"ready":true}` or `{"error":"…"}` on
 * file descriptor 3.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Readable } from 'node:stream'
import { DAEMON_MALLOC_ARENA_MAX, DAEMON_V8_FLAGS, MOUNT_READY_TIMEOUT_MS, UV_THREADPOOL_SIZE } from '../config/defaults.js'
import { type MountOptions, resolveMountConfig, type MountConfig } from '../config/resolve-config.js'
import { ConfigError, MountPointError, S3CacheFsError, messageOf } from '../errors.js'
import { checkCacheDir, checkMountPoint } from '../daemon/preflight.js'
import { createLogger } from '../logger.js'

interface ReadyMessage {
  ready?: boolean
  error?: string
  code?: string
}

export async function mountCommand(source: string, mountPoint: string, opts: MountOptions): Promise<number> {
  // Private by default: the cache holds a private bucket's bytes and key names, the log its paths.
  // Everything the mount and its daemon (which inherits this) create is 0700 / 0600.
  process.umask(0o077)
  const config = resolveMountConfig(source, mountPoint, opts)
  if (process.env.S3CACHEFS_DAEMON === '1') return serveAsDaemon(config)
  await checkMountPoint(config.mountPoint)
  const warning = await checkCacheDir(config.disk.dir)
  if (warning !== undefined) process.stderr.write(`s3cachefs: warning: ${warning}\n`)
  return spawnDaemon(config)
}

async function serveAsDaemon(config: MountConfig): Promise<number> {
  const log = createLogger(config.logLevel)
  const readyFd = process.env.S3CACHEFS_READY_FD !== undefined ? Number(process.env.S3CACHEFS_READY_FD) : undefined
  const report = (msg: ReadyMessage) => {
    if (readyFd === undefined) return
    try {
      writeSync(readyFd, JSON.stringify(msg) + '\n')
      closeSync(readyFd)
    } catch {
      /* the parent is gone */
    }
  }
  let daemon
  try {
    // The daemon's code (the SDK, the binding, the caches) loads here, not in the process that only starts it.
    const { runDaemon } = await import('../daemon/run-daemon.js')
    daemon = await runDaemon(config, log)
  } catch (err) {
    log.error({ err }, 'mount failed')
    report({ error: messageOf(err), ...(err instanceof S3CacheFsError ? { code: err.code } : {}) })
    log.flush()
    if (readyFd === undefined) throw err
    return 1
  }
  report({ ready: true })
  const code = await daemon.stopped
  // Keep-alive sockets and timers would hold the process open: exit once the logs are out.
  await new Promise<void>(resolve => log.flush(() => resolve()))
  process.exit(code)
}

/** The daemon's node flags: the user's own, then each of DAEMON_V8_FLAGS whose name they do not set. */
export function daemonNodeFlags(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName)
  return [...execArgv, ...DAEMON_V8_FLAGS.filter(f => !given.includes(flagName(f)))]
}

/** `--initial-old-space-size=128` → `initial-old-space-size` (V8 takes `_` for `-`). */
function flagName(flag: string): string {
  return (flag.replace(/^-+/, '').split('=')[0] ?? '').replaceAll('_', '-')
}

async function spawnDaemon(config: MountConfig): Promise<number> {
  let out: number | 'inherit' = 'inherit'
  if (!config.foreground) {
    mkdirSync(dirname(config.logFile), { recursive: true })
    out = openSync(config.logFile, 'a')
  }
  const child = spawn(process.execPath, [...daemonNodeFlags(process.execArgv, process.env.NODE_OPTIONS), ...process.argv.slice(1)], {
    env: {
      ...process.env,
      S3CACHEFS_DAEMON: '1',
      S3CACHEFS_READY_FD: '3',
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(UV_THREADPOOL_SIZE),
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? String(DAEMON_MALLOC_ARENA_MAX),
    },
    stdio: ['ignore', out, out, 'pipe'],
    detached: !config.foreground,
  })
  if (typeof out === 'number') closeSync(out)
  const exited = new Promise<number>(resolve => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))))
  const msg = await readReady(child.stdio[3] as Readable, exited)
  if (msg.error !== undefined) {
    await exited
    // A usage problem the daemon found (the cache directory locked by another daemon) exits 2, as the CLI's own checks do.
    if (msg.code === 'CONFIG') throw new ConfigError(msg.error)
    if (msg.code === 'MOUNT_POINT') throw new MountPointError(msg.error)
    throw new DaemonStartError(msg.error)
  }
  if (msg.ready !== true) {
    child.kill('SIGTERM')
    throw new DaemonStartError(`the daemon stopped before mounting${config.foreground ? '' : `; see ${config.logFile}`}`)
  }
  if (!config.foreground) {
    child.unref()
    ;(child.stdio[3] as Readable).destroy()
    return 0
  }
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig)
  process.on('SIGINT', forward('SIGINT'))
  process.on('SIGTERM', forward('SIGTERM'))
  return exited
}

/** The daemon's first line on fd 3, or an empty message if it exits or stalls first. */
function readReady(stream: Readable, exited: Promise<number>): Promise<ReadyMessage> {
  return new Promise(resolve => {
    let text = ''
    const timer = setTimeout(() => resolve({ error: `the daemon did not become ready within ${MOUNT_READY_TIMEOUT_MS / 1000}s` }), MOUNT_READY_TIMEOUT_MS)
    const done = (m: ReadyMessage) => {
      clearTimeout(timer)
      resolve(m)
    }
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
      const nl = text.indexOf('\n')
      if (nl < 0) return
      try {
        done(JSON.parse(text.slice(0, nl)) as ReadyMessage)
      } catch {
        done({ error: 'the daemon sent an unreadable readiness message' })
      }
    })
    stream.on('error', () => {})
    exited.then(
      () => done({}),
      () => done({}),
    )
  })
}

class DaemonStartError extends S3CacheFsError {
  readonly code = 'DAEMON_START'
}
