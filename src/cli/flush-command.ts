/** `s3cachefs flush MOUNTPOINT [PATH]`: blocks until everything written under PATH is in the bucket. */
import { relative, resolve } from 'node:path'
import { formatBytes } from '../config/units.js'
import { UploadFailedError } from '../errors.js'
import type { FlushReport } from '../write/write-back.js'
import { controlRequest } from './control-client.js'

/**
 * Asks the daemon of `mountPoint` to upload pending writes under `path` (a path
 * inside the mount, or '/'); throws UploadFailedError when any upload failed.
 */
export async function flushOrThrow(mountPoint: string, path = '/'): Promise<FlushReport> {
  const report = await controlRequest(mountPoint, 'POST', '/flush', { path }) as FlushReport
  if (report.failed.length > 0) {
    const first = report.failed[0] as { path: string; error: string }
    throw new UploadFailedError(`${report.failed.length} file(s) could not be uploaded (first: ${first.path}: ${first.error}); the data stays staged`)
  }
  return report
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
