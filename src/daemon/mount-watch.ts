/**
 * Notices a mount released from outside the daemon (`fusermount -u`, `umount`,
 * a lazy unmount): libfuse's session just ends, and fuse-native tells nobody, so a
 * supervisor would see a live daemon with no mount. The daemon polls /proc/mounts
 * and, once its mount point is gone, shuts down as on SIGTERM (flushing first).
 */
import { MOUNT_WATCH_INTERVAL_MS } from '../config/defaults.js'
import { mountTableNames } from '../util/mount-table-names.js'
import { mountedPaths } from './preflight.js'

/**
 * Calls `onGone` once when `mountPoint` leaves the mount table; returns the stop function.
 * The table spells the mount point with its parent's symlinks resolved (the mount point
 * itself is never resolved: that would ask this very daemon, from its own thread).
 * INVARIANT: fires only after the mount point was seen in the table, so a spelling we
 * failed to match can never stop a healthy daemon. The first check runs at once.
 */
export function watchMountGone(mountPoint: string, onGone: () => void, intervalMs = MOUNT_WATCH_INTERVAL_MS): () => void {
  const names = mountTableNames(mountPoint)
  let busy = false
  let seen = false
  let stopped = false
  const check = () => {
    if (busy || stopped) return
    busy = true
    mountedPaths()
      .then(
        m => {
          if ([...names].some(n => m.has(n))) {
            seen = true
            return
          }
          if (!seen || stopped) return
          stop()
          onGone()
        },
        () => {},
      )
      .finally(() => {
        busy = false
      })
  }
  const timer = setInterval(check, intervalMs).unref()
  const stop = () => {
    stopped = true
    clearInterval(timer)
  }
  check()
  return stop
}
