/**
 * Named points of the write protocol where the daemon can be made to die at once,
 * so tests prove crash consistency by construction rather than by luck:
 *
 *   S3CACHEFS_CRASH_AT=<point>[,<point>…]   die (SIGKILL of itself) on reaching a point
 *   S3CACHEFS_CRASH_KEY=<text>              only for keys containing <text> (optional)
 *
 * Unset (production), each check is one Set lookup. The points are listed in
 * docs/SEMANTICS.md ("Crash consistency") with what survives each.
 */
import { writeSync } from 'node:fs'

export const CRASH_POINTS = [
  'after-data-write', // a write() reached the staging file; nothing was committed
  'after-data-sync', // close/fsync: the staging file is fsynced, the journal not yet written
  'after-journal-temp', // the new journal is in its temporary file, not yet renamed over the old
  'after-journal-rename', // the new journal is renamed into place, the directory not yet fsynced
  'after-commit', // close in async mode: the journal says committed; close has not returned yet
  'mid-upload', // an upload has sent its first bytes but has not completed
  'after-upload', // the object is in the bucket; the journal still says committed
  'after-unlink-journal', // unlink: the journal is gone, the object not yet deleted
  'after-rename-journal', // rename: the journal names the new key, the old object not yet deleted
] as const

export type CrashPoint = (typeof CRASH_POINTS)[number]

const armed = new Set(
  (process.env.S3CACHEFS_CRASH_AT ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== ''),
)
const keyFilter = process.env.S3CACHEFS_CRASH_KEY

/** Kills this process on the spot when `point` is armed for `key`. */
export function crashPoint(point: CrashPoint, key: string): void {
  if (armed.size === 0 || !armed.has(point)) return
  if (keyFilter !== undefined && keyFilter !== '' && !key.includes(keyFilter)) return
  writeSync(2, `s3cachefs: crash point ${point} reached for ${key}; dying now\n`)
  process.kill(process.pid, 'SIGKILL')
}
