/**
 * POSIX attributes stored as s3fs-fuse stores them, in an object's user metadata:
 *
 *   x-amz-meta-mode   st_mode in decimal, file type bits included ("33188" = S_IFREG | 0644)
 *   x-amz-meta-uid    decimal
 *   x-amz-meta-gid    decimal
 *   x-amz-meta-mtime  seconds since the epoch, optionally ".nnnnnnnnn" (s3fs writes nine digits;
 *   x-amz-meta-ctime  rclone writes a fraction of any length, which s3fs misreads as nanoseconds
 *   x-amz-meta-atime  and we read as a fraction: the two agree on everything s3fs writes)
 *
 * A symlink is an object whose body is the target, with S_IFLNK in its mode; a FIFO or
 * device node a zero-byte object with S_IFIFO/S_IFCHR/S_IFBLK (s3fs keeps no rdev). A
 * directory's attributes ride on its `dir/` marker object. Extended attributes, when the mount
 * keeps them (`--xattr`), are s3fs's `x-amz-meta-xattr` header, kept here as its raw text
 * (s3fs-xattrs.ts reads and writes it). Only src/metadata and the
 * filesystem core use this; the S3 layer just carries the name → value map.
 */
import type { ObjectMetadata } from '../s3/object-client.js'

/** The Content-Type of a directory marker (`dir/`), as s3fs-fuse stores it. */
export const DIRECTORY_CONTENT_TYPE = 'application/x-directory'

export const S_IFMT = 0o170000
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const S_IFLNK = 0o120000
export const S_IFIFO = 0o010000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFSOCK = 0o140000

/**
 * What an object's headers say; a field absent here is not stored and takes the mount's
 * default. `{}` means "headers read, none present": not the same as not knowing (undefined).
 */
export interface PosixAttributes {
  /** Full st_mode, type bits included. */
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly mtimeMs?: number
  readonly atimeMs?: number
  readonly ctimeMs?: number
  /** s3fs's `xattr` header as stored; '' means "none": the header is removed (withAttributes). */
  readonly xattr?: string
}

/** s3fs's names for the fields, without the `x-amz-meta-` prefix the S3 layer adds. */
const HEADER = { mode: 'mode', uid: 'uid', gid: 'gid', mtimeMs: 'mtime', atimeMs: 'atime', ctimeMs: 'ctime' } as const
const XATTR_HEADER = 'xattr'

/** Attributes from user metadata; fields that are absent or unparsable are left out. */
export function parseS3fsMetadata(metadata: ObjectMetadata): PosixAttributes {
  const out: { -readonly [K in keyof PosixAttributes]: PosixAttributes[K] } = {}
  const mode = parseUnsigned(metadata[HEADER.mode])
  if (mode !== undefined) out.mode = mode
  const uid = parseUnsigned(metadata[HEADER.uid])
  if (uid !== undefined) out.uid = uid
  const gid = parseUnsigned(metadata[HEADER.gid])
  if (gid !== undefined) out.gid = gid
  for (const field of ['mtimeMs', 'atimeMs', 'ctimeMs'] as const) {
    const ms = parseSeconds(metadata[HEADER[field]])
    if (ms !== undefined) out[field] = ms
  }
  if (metadata[XATTR_HEADER] !== undefined) out.xattr = metadata[XATTR_HEADER]
  return out
}

/** User metadata for the attributes, as s3fs writes it (times to the millisecond we keep). */
export function toS3fsMetadata(attrs: PosixAttributes): Record<string, string> {
  const out: Record<string, string> = {}
  if (attrs.mode !== undefined) out[HEADER.mode] = String(attrs.mode)
  if (attrs.uid !== undefined) out[HEADER.uid] = String(attrs.uid)
  if (attrs.gid !== undefined) out[HEADER.gid] = String(attrs.gid)
  for (const field of ['mtimeMs', 'atimeMs', 'ctimeMs'] as const) {
    const ms = attrs[field]
    if (ms !== undefined) out[HEADER[field]] = formatSeconds(ms)
  }
  if (attrs.xattr !== undefined && attrs.xattr !== '') out[XATTR_HEADER] = attrs.xattr
  return out
}

/** An object's headers `base` with the attributes set (an emptied xattr header removed). */
export function withAttributes(base: ObjectMetadata, attrs: PosixAttributes): Record<string, string> {
  const out: Record<string, string> = { ...base, ...toS3fsMetadata(attrs) }
  if (attrs.xattr === '') delete out[XATTR_HEADER]
  return out
}

/** `base` overlaid with the fields `change` sets. */
export function mergeAttributes(base: PosixAttributes | undefined, change: PosixAttributes): PosixAttributes {
  return { ...base, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) }
}

/** The file type bits of a stored mode, S_IFREG when the mode carries none (s3fs does the same). */
export function fileTypeOf(mode: number | undefined, fallback = S_IFREG): number {
  const type = (mode ?? 0) & S_IFMT
  return type === 0 ? fallback : type
}

function parseUnsigned(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined
}

function parseSeconds(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*-?\d+(\.\d*)?\s*$/.test(text)) return undefined
  const [whole = '0', frac = ''] = text.trim().split('.')
  const sec = Number(whole)
  if (!Number.isSafeInteger(sec)) return undefined
  const ms = Number((frac + '000').slice(0, 3))
  return sec * 1000 + (sec < 0 ? -ms : ms)
}

function formatSeconds(ms: number): string {
  const whole = Math.floor(ms / 1000)
  const rest = Math.round(ms - whole * 1000)
  return rest === 0 ? String(whole) : `${whole}.${String(rest * 1_000_000).padStart(9, '0')}`
}
