/**
 * POSIX permission evaluation, as Linux's generic_permission and may_delete do it, for the
 * daemon's own checks when the kernel does none (`--allow-other --no-default-permissions`):
 * AccessChecks (access-checks.ts) asks these rules about the files and directories of each
 * request. Pure: the caller's groups come in as a function, read only when a group class is
 * the one that decides.
 *
 * - root (uid 0) may read and write anything and search any directory; it may execute a
 *   file only if some execute bit is set;
 * - otherwise exactly one class applies, the first that matches: owner, group (primary or
 *   supplementary), other; a class's bits decide even when a later class would allow more;
 * - in a sticky directory (S_ISVTX) only root, the directory's owner or the entry's owner
 *   may remove or rename an entry.
 */

export const R_OK = 4
export const W_OK = 2
export const X_OK = 1

const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_ISVTX = 0o1000
const ANY_EXECUTE = 0o111

/** Who asks: a uid and a test of group membership (primary gid or supplementary groups). */
export interface Subject {
  readonly uid: number
  inGroup(gid: number): boolean
}

/** What the rules need of a file or directory. */
export interface Node {
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

export function isDirectory(node: Node): boolean {
  return (node.mode & S_IFMT) === S_IFDIR
}

/** Whether `who` may access `node` for every bit of `want` (R_OK | W_OK | X_OK; 0 = existence). */
export function permits(who: Subject, node: Node, want: number): boolean {
  if (who.uid === 0) return (want & X_OK) === 0 || isDirectory(node) || (node.mode & ANY_EXECUTE) !== 0
  const bits = who.uid === node.uid ? (node.mode >> 6) & 7 : who.inGroup(node.gid) ? (node.mode >> 3) & 7 : node.mode & 7
  return (bits & want) === want
}

/** Whether the sticky bit of `dir` lets `who` remove or rename `entry` (write permission is checked apart). */
export function stickyAllows(who: Subject, dir: Node, entry: Node): boolean {
  return (dir.mode & S_ISVTX) === 0 || who.uid === 0 || who.uid === dir.uid || who.uid === entry.uid
}

const O_ACCMODE = 3
const O_WRONLY = 1
const O_RDWR = 2
const O_TRUNC = 0o1000

/** The access open(2) needs for `flags`: its access mode, and write for O_TRUNC (as Linux's build_open_flags). */
export function openWants(flags: number): number {
  const accmode = flags & O_ACCMODE
  const want = accmode === O_WRONLY ? W_OK : accmode === O_RDWR ? R_OK | W_OK : R_OK
  return (flags & O_TRUNC) !== 0 ? want | W_OK : want
}
