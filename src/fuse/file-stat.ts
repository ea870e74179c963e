/**
 * The attributes getattr reports, from what the metadata layer knows of a path: the
 * object's s3fs headers where known (see src/metadata/s3fs-attributes.ts), otherwise the
 * mount's defaults (mode from `--file-mode`-style config, owner = the mounting user,
 * times = the store's LastModified).
 */
import type { Entry } from '../metadata/entry.js'
import { S_IFDIR, S_IFMT, S_IFREG, fileTypeOf, type PosixAttributes } from '../metadata/s3fs-attributes.js'

export interface FileStat {
  /** st_mode, type bits included. */
  readonly mode: number
  readonly size: number
  readonly mtimeMs: number
  readonly atimeMs: number
  readonly ctimeMs: number
  readonly nlink: number
  readonly uid: number
  readonly gid: number
}

export interface StatDefaults {
  readonly uid: number
  readonly gid: number
  /** Permission bits of files and directories without a stored mode. */
  readonly fileMode: number
  readonly dirMode: number
}

const PERMISSION_BITS = 0o7777

/** A file (regular, symlink, FIFO, device node) of `size` bytes whose store time is `storeMtimeMs`. */
export function fileStat(d: StatDefaults, size: number, storeMtimeMs: number, attrs: PosixAttributes | undefined): FileStat {
  let type = fileTypeOf(attrs?.mode)
  // An object can never be a directory here: directories are prefixes (a stray S_IFDIR reads as a file).
  if (type === S_IFDIR) type = S_IFREG
  const mode = type | (attrs?.mode !== undefined ? attrs.mode & PERMISSION_BITS : d.fileMode)
  return withTimesAndOwner(d, { mode, size, nlink: 1 }, storeMtimeMs, attrs)
}

/**
 * The type bits (S_IFDIR, S_IFREG, S_IFLNK, …) a getattr of a listed entry shows, given to
 * the kernel as the entry's d_type so `find -type f`, scandir and `os.walk` need no lookup
 * per entry; 0 (DT_UNKNOWN) when only the object's headers can tell (`headersPending`: head
 * mode, not read yet), as a getattr would HEAD it first.
 */
export function listedType(entry: Entry, headersPending: boolean): number {
  if (entry.kind === 'dir') return S_IFDIR
  if (entry.attrs === undefined && headersPending) return 0
  const type = fileTypeOf(entry.attrs?.mode)
  return type === S_IFDIR ? S_IFREG : type
}

/**
 * A directory. Its link count is 2 + its subdirectories when its listing is known, else 1:
 * what FUSE filesystems answer when they cannot count (find and fts then do not rely on it).
 */
function dirStat(d: StatDefaults, mtimeMs: number, attrs: PosixAttributes | undefined, subdirs: number | undefined): FileStat {
  const mode = S_IFDIR | (attrs?.mode !== undefined ? attrs.mode & PERMISSION_BITS : d.dirMode)
  return withTimesAndOwner(d, { mode, size: 4096, nlink: subdirs === undefined ? 1 : 2 + subdirs }, mtimeMs, attrs)
}

export function entryStat(d: StatDefaults, entry: Entry, subdirs: number | undefined): FileStat {
  return entry.kind === 'file' ? fileStat(d, entry.size, entry.mtimeMs, entry.attrs) : dirStat(d, entry.mtimeMs, entry.attrs, subdirs)
}

/** The complete attributes a stat shows, for writing back with a change (s3fs stores them all). */
export function attributesOf(stat: FileStat): PosixAttributes {
  return { mode: stat.mode, uid: stat.uid, gid: stat.gid, mtimeMs: stat.mtimeMs, atimeMs: stat.atimeMs, ctimeMs: stat.ctimeMs }
}

export function isType(mode: number, type: number): boolean {
  return (mode & S_IFMT) === type
}

function withTimesAndOwner(
  d: StatDefaults,
  base: { mode: number; size: number; nlink: number },
  storeMtimeMs: number,
  attrs: PosixAttributes | undefined,
): FileStat {
  const mtimeMs = attrs?.mtimeMs ?? storeMtimeMs
  // Fields listed, not spread: this runs for every getattr.
  return {
    mode: base.mode,
    size: base.size,
    nlink: base.nlink,
    mtimeMs,
    atimeMs: attrs?.atimeMs ?? mtimeMs,
    ctimeMs: attrs?.ctimeMs ?? mtimeMs,
    uid: attrs?.uid ?? d.uid,
    gid: attrs?.gid ?? d.gid,
  }
}
