/**
 * What a caller may change about a file's owner, mode and times: the rules of Linux (and of
 * s3fs-fuse, which checks them itself) applied before chmod, chown and utimens reach the core.
 * Without `default_permissions` the kernel checks nothing, so these and access-checks.ts are the only checks; with
 * it the kernel has applied the same rules already and these agree.
 *
 * - root (uid 0) may do anything;
 * - chmod: only the owner; S_ISGID is dropped when the owner is not in the file's group; a
 *   writer may clear S_ISUID/S_ISGID only (the kernel does so at a non-owner's write);
 * - chown: only the owner, who may not give the file away (uid unchanged) and may set only
 *   a group they belong to;
 * - utimens: explicit times only by the owner (EPERM); "now" also by anyone who may write
 *   the file (EACCES otherwise). Without a writeback cache the kernel sends `touch`'s "now"
 *   (utimensat with UTIME_NOW or a NULL times) as the explicit current time, so times within
 *   NOW_TOLERANCE_MS of the daemon's clock count as "now": such a caller could have asked for
 *   "now" anyway (and a write sets the mtime to now too).
 *
 * The caller comes from caller.ts; without one (core tests, internal calls) nothing is checked.
 */
import { AccessDeniedError, NotPermittedError } from '../errors.js'
import { callerInGroup, type Caller } from './caller.js'
import type { FileStat, FilesystemCore } from './filesystem-core.js'

const S_ISGID = 0o2000
const S_ISUID_GID = 0o6000

/** What these rules need of a file. */
export type Owned = Pick<FileStat, 'uid' | 'gid' | 'mode'>

/** A time as the binding passes it to utimens: ms since the epoch, or one of these. */
export const UTIME_OMIT = -1
export const UTIME_NOW = -2
/**
 * How far from the daemon's clock an explicit utimens time may be and still count as "now", ms:
 * the kernel stamps the request when the syscall runs, and a request may wait in FUSE's queue
 * behind slow ones (an upload at close) for seconds on a loaded machine.
 */
export const NOW_TOLERANCE_MS = 5000

/** The mode chmod may store, or NotPermittedError. */
export function allowedChmod(caller: Caller, file: Owned, path: string, mode: number): number {
  if (caller.uid === 0) return mode
  if (caller.uid !== file.uid && !dropsPrivileges(caller, file, mode)) throw new NotPermittedError(`${path}: chmod by uid ${caller.uid}, not the owner`)
  if ((mode & S_ISGID) !== 0 && !callerInGroup(caller, file.gid)) return mode & ~S_ISGID
  return mode
}

/**
 * A write by a non-owner makes the kernel clear S_ISUID/S_ISGID (file_remove_privs), which
 * FUSE sends as a chmod from the writer: allowed to whoever may write the file, when the
 * new mode is the old one with only those bits cleared.
 */
function dropsPrivileges(caller: Caller, file: Owned, mode: number): boolean {
  const old = file.mode & 0o7777
  return (old & S_ISUID_GID) !== 0 && (mode & 0o7777) === (old & ~S_ISUID_GID) && mayWrite(caller, file)
}

function mayWrite(caller: Caller, file: Owned): boolean {
  if (caller.uid === file.uid) return (file.mode & 0o200) !== 0
  return callerInGroup(caller, file.gid) ? (file.mode & 0o020) !== 0 : (file.mode & 0o002) !== 0
}

/** Throws NotPermittedError unless `caller` may chown to `uid`/`gid` (undefined: unchanged). */
export function checkChown(caller: Caller, file: Owned, path: string, uid: number | undefined, gid: number | undefined): void {
  if (caller.uid === 0) return
  const givesAway = uid !== undefined && uid !== file.uid
  const foreignGroup = gid !== undefined && gid !== file.gid && !callerInGroup(caller, gid)
  if (caller.uid !== file.uid || givesAway || foreignGroup) throw new NotPermittedError(`${path}: chown by uid ${caller.uid} not permitted`)
}

/** Throws unless `caller` may set these times (`explicit`: a time given, not "now"). */
export function checkUtimens(caller: Caller, file: Owned, path: string, explicit: boolean): void {
  if (caller.uid === 0 || caller.uid === file.uid) return
  if (explicit) throw new NotPermittedError(`${path}: utimens with explicit times by uid ${caller.uid}, not the owner`)
  if (!mayWrite(caller, file)) throw new AccessDeniedError(`${path}: utimens by uid ${caller.uid} without write permission`)
}

/** chmod, chown and utimens of the core, with the rules applied for the request's caller. */
export async function chmodAs(core: FilesystemCore, path: string, mode: number, caller: Caller | undefined): Promise<void> {
  await core.chmod(path, caller === undefined ? mode : allowedChmod(caller, await core.getattr(path), path, mode))
}

/** chown(2)'s "leave unchanged" ((uid_t)-1) as the binding passes it. */
const ID_UNCHANGED = 0xffffffff

export async function chownAs(core: FilesystemCore, path: string, uid: number, gid: number, caller: Caller | undefined): Promise<void> {
  const newUid = uid === ID_UNCHANGED || uid < 0 ? undefined : uid
  const newGid = gid === ID_UNCHANGED || gid < 0 ? undefined : gid
  if (caller !== undefined) checkChown(caller, await core.getattr(path), path, newUid, newGid)
  await core.chown(path, uid, gid)
}

/** Whether utimens was asked for explicit times: a time that is neither UTIME_NOW nor the kernel's stamp of "now". */
export function explicitTimes(atime: number, mtime: number, now: number): boolean {
  const notExplicit = (t: number): boolean => t === UTIME_OMIT || t === UTIME_NOW || Math.abs(t - now) <= NOW_TOLERANCE_MS
  return !(notExplicit(atime) && notExplicit(mtime))
}

export async function utimensAs(core: FilesystemCore, path: string, atime: number, mtime: number, caller: Caller | undefined): Promise<void> {
  const now = Date.now()
  if (caller !== undefined) checkUtimens(caller, await core.getattr(path), path, explicitTimes(atime, mtime, now))
  const resolve = (t: number): number | undefined => (t === UTIME_OMIT ? undefined : t === UTIME_NOW ? now : t)
  await core.utimens(path, resolve(atime), resolve(mtime))
}
