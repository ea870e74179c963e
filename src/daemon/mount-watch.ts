/**
 * Notices a mount released from outside the daemon (`fusermount -u`, `umount`,
 * a lazy unmount): libfuse's session just ends, and fuse-native tells nobody, so a
 * supervisor would see a live daemon with no mount. The daemon polls /proc/mounts
 * and, once its mount point is gone, shuts down as on SIGTERM (flushing first).
 */
import { MOUNT_WATCH_INTERVAL_MS } from '../config/defaults.js'
import { mountedPaths } from './preflight.js'

/** Calls `onGone` once when `mountPoint` leaves the mount table; returns the stop function. */
export function watchMountGone(mountPoint: string, onGone: () => void, intervalMs = MOUNT_WATCH_INTERVAL_MS): () => void {
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    mountedPaths().then(m => {
      if (m.has(mountPoint)) return
      clearInterval(timer)
      onGone()
    }, () => {}).finally(() => { busy = false })
  }, intervalMs).unref()
  return () => clearInterval(timer)
}
