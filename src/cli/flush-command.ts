/**
 * `s3cachefs flush MOUNTPOINT [PATH]`: blocks until everything written under PATH is
 * in the bucket. It waits as long as the uploads take (each upload has a deadline in
 * the daemon that grows with its size, so a stuck store still ends it), and on a
 * terminal shows what is left, redrawn every second.
 */
import { relative, resolve } from 'node:path'
import { formatBytes } from '../config/units.js'
import { UploadFailedError } from '../errors.js'
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import type { FlushReport } from '../write/write-back.js'
import { controlRequest } from './control-client.js'

const PROGRESS_INTERVAL_MS = 1000

/**
 * Asks the daemon of `mountPoint` to upload pending writes under `path` (a path
 * inside the mount, or '/'); throws UploadFailedError when any upload failed, or the
 * control request's error once `timeoutMs` passes (0: waits as long as the uploads take).
 */
export async function flushOrThrow(mountPoint: string, path = '/', opts: { timeoutMs?: number } = {}): Promise<FlushReport> {
  const stopProgress = process.stderr.isTTY === true ? drawProgress(mountPoint) : () => {}
  let report: FlushReport
  try {
    report = (await controlRequest(mountPoint, 'flush', { path }, { timeoutMs: opts.timeoutMs ?? 0 })) as FlushReport
  } finally {
    stopProgress()
  }
  if (report.failed.length > 0) {
    const first = report.failed[0] as { path: string; error: string }
    throw new UploadFailedError(`${report.failed.length} file(s) could not be uploaded (first: ${first.path}: ${first.error}); the data stays staged`)
  }
  return report
}

/** Redraws `flushing: N files, X left, Y sent` on stderr until stopped. */
function drawProgress(mountPoint: string): () => void {
  let drawn = false
  const timer = setInterval(() => {
    controlRequest(mountPoint, 'stats').then(
      s => {
        const w = (s as StatsSnapshot).writes
        process.stderr.write(
          `\rflushing: ${w.pending} file(s), ${formatBytes(w.pendingBytes)} pending, ${formatBytes(w.inFlightBytes)} sent of uploads running   `,
        )
        drawn = true
      },
      () => {
        /* the flush request reports errors */
      },
    )
  }, PROGRESS_INTERVAL_MS)
  return () => {
    clearInterval(timer)
    if (drawn) process.stderr.write('\n')
  }
}

export async function flushCommand(mountPoint: string, path: string | undefined, opts: { quiet?: boolean }): Promise<number> {
  const mp = resolve(mountPoint)
  const inside = path === undefined ? '/' : '/' + relative(mp, resolve(path.startsWith('/') ? path : resolve(mp, path))).replace(/^\/+/, '')
  const report = await flushOrThrow(mp, inside === '/.' ? '/' : inside)
  if (opts.quiet !== true) {
    for (const u of report.uploaded) process.stdout.write(`uploaded ${u.path} (${formatBytes(u.bytes)})\n`)
    if (report.uploaded.length === 0) process.stdout.write('nothing to upload\n')
  }
  return 0
}
