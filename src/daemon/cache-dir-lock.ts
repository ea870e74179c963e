/**
 * The cache directory's lock: a kernel lock (flock(2)) on `<cache-dir>/lock`, held
 * for the daemon's life by a `flock` child (util-linux) whose stdin is a pipe from
 * the daemon. Node has no flock of its own; this needs no native addon.
 *
 * Why not a pid file: removing a "stale" one races with a second daemon doing the
 * same, and a reused pid looks alive. A kernel lock is released by the kernel when
 * its holder dies, however it dies: a daemon killed with SIGKILL closes the pipe,
 * the child reads EOF and exits, and the lock is free — nothing stale to remove.
 * The file stays (unlinking a locked file would let two daemons lock two inodes);
 * it holds the pid of the daemon that locked it last, for the message only.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'

/** flock's exit status when the lock is held by someone else (EX_TEMPFAIL). */
const LOCK_HELD_EXIT = 75
/** How long to wait for a lock held by a daemon that was just killed (its helper exits on EOF, within milliseconds). */
const LOCK_WAIT_SECONDS = 3
/** How long the lock helper may take to start and answer. */
const LOCK_START_TIMEOUT_MS = 10_000

/** Takes the cache directory's lock, refusing when another daemon holds it; resolves to the unlock function. */
export async function lockCacheDir(dir: string): Promise<() => Promise<void>> {
  const lockPath = join(dir, 'lock')
  await (await open(lockPath, 'a', 0o600)).close()
  const child = spawn('flock', ['--wait', String(LOCK_WAIT_SECONDS), '--conflict-exit-code', String(LOCK_HELD_EXIT), lockPath, '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    // Its own process group: a Ctrl-C to a foreground daemon must not end the lock before the daemon has flushed.
    detached: true,
  })
  const outcome = await firstOutcome(child)
  if (outcome === 'locked') {
    await writeFile(lockPath, `${process.pid}\n`)
    child.stdout?.destroy()
    return () => release(child)
  }
  if (outcome === LOCK_HELD_EXIT) {
    const holder = (await readFile(lockPath, 'utf8').catch(() => '')).trim()
    throw new ConfigError(`--cache-dir ${dir} is in use by another s3cachefs daemon${holder ? ` (pid ${holder})` : ''}; give each mount its own --cache-dir`)
  }
  child.kill('SIGKILL')
  throw new ConfigError(
    `--cache-dir ${dir}: cannot take the lock (${typeof outcome === 'number' ? `flock exited ${outcome}` : outcome.message}; flock(1) from util-linux is required)`,
  )
}

/** 'locked', flock's exit status, or the error that kept it from starting. */
function firstOutcome(child: ChildProcess): Promise<'locked' | number | Error> {
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(new Error('no answer')), LOCK_START_TIMEOUT_MS)
    const done = (v: 'locked' | number | Error) => {
      clearTimeout(timer)
      resolve(v)
    }
    child.once('error', done)
    child.once('exit', code => done(code ?? -1))
    child.stdout?.once('data', () => done('locked'))
  })
}

async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.stdin?.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}
