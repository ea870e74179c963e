/**
 * `s3cachefs unmount MOUNTPOINT`: asks the daemon to stop (SIGTERM: it unmounts,
 * finishes cache writes and exits) and waits for it; falls back to `fusermount -u`
 * for a mount whose daemon is gone.
 */
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { SHUTDOWN_FLUSH_MS, UNMOUNT_WAIT_MS } from '../config/defaults.js'
import { MountPointError, UploadFailedError, messageOf } from '../errors.js'
import { flushOrThrow } from './flush-command.js'
import { mountedPaths } from '../daemon/preflight.js'
import { isAlive, isOurDaemon, readDaemonRecord, removeDaemonRecord } from '../daemon/runtime-state.js'

const run = promisify(execFile)

export async function unmountCommand(mountPoint: string, opts: { force?: boolean }): Promise<number> {
  const mp = resolve(mountPoint)
  const recorded = await readDaemonRecord(mp)
  // Only a pid that /proc shows to be our daemon of this mount point is ever signalled.
  const record = recorded !== undefined && isOurDaemon(recorded) ? recorded : undefined
  const type = (await mountedPaths()).get(mp)
  if (type === undefined && record === undefined) {
    await removeDaemonRecord(mp)
    throw new MountPointError(`${mp} is not mounted`)
  }
  if (type !== undefined && type !== 'fuse.s3cachefs') throw new MountPointError(`${mp} is not an s3cachefs mount (it is ${type})`)

  if (record !== undefined) {
    // Upload pending writes first, so a failing store is reported here instead of lost. With
    // --force a flush that does not answer (a store that hangs, a stuck daemon) is given up
    // after UNMOUNT_WAIT_MS: the daemon goes on uploading in its shutdown, and is killed if it does not stop.
    try {
      await flushOrThrow(mp, '/', opts.force === true ? { timeoutMs: UNMOUNT_WAIT_MS } : {})
    } catch (err) {
      if (opts.force !== true)
        throw new UploadFailedError(
          `not unmounting ${mp}: ${messageOf(err)}; fix the store and retry, or use --force (staged data is kept and uploaded at the next mount)`,
        )
    }
    process.kill(record.pid, 'SIGTERM')
    // The daemon uploads what was written since the flush (for up to SHUTDOWN_FLUSH_MS) before it exits.
    const waitMs = UNMOUNT_WAIT_MS + SHUTDOWN_FLUSH_MS
    if (!(await waitForExit(record.pid, waitMs))) {
      if (opts.force !== true) throw new MountPointError(`the daemon of ${mp} (pid ${record.pid}) did not stop within ${waitMs / 1000}s; retry with --force`)
      process.kill(record.pid, 'SIGKILL')
      await waitForExit(record.pid, 5000)
    }
  }
  if ((await mountedPaths()).has(mp)) {
    try {
      await run('fusermount', [opts.force === true ? '-uz' : '-u', mp])
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim() ?? String(err)
      throw new MountPointError(`cannot unmount ${mp}: ${stderr}${opts.force === true ? '' : '; retry with --force for a lazy unmount'}`)
    }
  }
  await removeDaemonRecord(mp)
  return 0
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true
    await new Promise(r => setTimeout(r, 50))
  }
  return !isAlive(pid)
}
