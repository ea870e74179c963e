/**
 * Named points of the index snapshot's protocol where the daemon can be made to die at
 * once, as the write path's (src/write/crash-points.ts, the same variable):
 *
 *   S3CACHEFS_CRASH_AT=<point>[,<point>…]   die (SIGKILL of itself) on reaching a point
 *
 * Kept apart from the write path's list, whose mount test drives every point of it
 * through a write workload. Unset (production), each check is one Set lookup.
 */
import { writeSync } from 'node:fs'

export const INDEX_CRASH_POINTS = [
  'after-index-snapshot-claim', // a start renamed the snapshot to .loading (durably) and has not loaded it
  'after-index-snapshot-temp', // a clean close wrote and fsynced the snapshot's temp file, not yet renamed
  // The whole-object copies beside the index (src/cache/whole-objects.ts):
  'whole-copy-half-written', // half of a copy's blocks written to its temp file, not fsynced
  'whole-copy-before-rename', // a copy's temp file complete and fsynced, not yet renamed into place
] as const

export type IndexCrashPoint = (typeof INDEX_CRASH_POINTS)[number]

const armed = new Set((process.env.S3CACHEFS_CRASH_AT ?? '').split(',').map(s => s.trim()))

/** Kills this process on the spot when `point` is armed. */
export function indexCrashPoint(point: IndexCrashPoint): void {
  if (!armed.has(point)) return
  writeSync(2, `s3cachefs: crash point ${point} reached; dying now\n`)
  process.kill(process.pid, 'SIGKILL')
}
