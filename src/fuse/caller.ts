/**
 * Who made the FUSE request being served: the calling process's uid, gid and pid, which our
 * build of the binding copies from libfuse's fuse_get_context() (Fuse.requestCaller()).
 *
 * The adapter reads it when a request arrives (before any await) and passes it to the
 * operations that create or change ownership: new files, directories, symlinks and nodes are
 * owned by the caller (as s3fs-fuse and local filesystems do), and OwnerRules decides what a
 * non-root caller may change. Outside a request (core tests, recovery) there is no caller and
 * the mount's defaults apply. Passed as an argument, not through AsyncLocalStorage: on Node 20
 * that turns on promise hooks for the whole process, and the daemon's promise-heavy paths ran
 * 2.4–2.9× slower in a micro-benchmark once it had been used.
 */
import { readFileSync } from 'node:fs'

export interface Caller {
  readonly uid: number
  readonly gid: number
  /** 0 when unknown (the kernel's own requests). */
  readonly pid: number
}

/**
 * Whether `caller` belongs to group `gid`: its own gid, else the supplementary groups of its
 * process (the "Groups:" line of /proc/PID/status; the process is blocked in the syscall, so it
 * exists). Read only for chown/chmod by a non-root caller naming another group.
 */
export function callerInGroup(caller: Caller, gid: number): boolean {
  if (caller.gid === gid) return true
  if (caller.pid <= 0) return false
  try {
    const status = readFileSync(`/proc/${caller.pid}/status`, 'utf8')
    const line = /^Groups:(.*)$/m.exec(status)?.[1] ?? ''
    return line.trim().split(/\s+/).filter(Boolean).map(Number).includes(gid)
  } catch {
    return false
  }
}
