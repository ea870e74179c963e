/**
 * The limits the filesystem enforces and reports: NAME_MAX, S3's largest object
 * (EFBIG), what `statfs` shows for a store with no meaningful capacity, and how
 * open flags read.
 */
import { constants as fsConstants } from 'node:fs'
import { FileTooLargeError, InvalidNameError } from '../errors.js'

export interface FsStats {
  readonly bsize: number
  readonly frsize: number
  readonly blocks: number
  readonly bfree: number
  readonly bavail: number
  readonly files: number
  readonly ffree: number
  readonly favail: number
  readonly namemax: number
}

/**
 * An object store has no meaningful capacity: report a large, stable one, as peers do.
 * fuse-native passes statfs fields through 32-bit integers, so each must stay below 2^32:
 * 2^30 blocks of 1 MiB is 1 PiB, and 2^30 free inodes.
 */
const STATFS_BLOCK = 2 ** 20
const STATFS_BLOCKS = 2 ** 30
const STATFS_FILES = 2 ** 30
/** chown(2)'s "leave unchanged" ((uid_t)-1), as fuse-native passes it. */
export const ID_UNCHANGED = 0xffffffff
/** Linux's O_ACCMODE (Node's fs.constants does not export it). */
const O_ACCMODE = 3
/** Linux's NAME_MAX: bytes in one path component. */
const NAME_MAX = 255
/** S3's limit on one object: 5 TiB. A larger size or offset is EFBIG. */
export const MAX_FILE_BYTES = 5 * 2 ** 40

export const STATFS: FsStats = Object.freeze({
  bsize: STATFS_BLOCK,
  frsize: STATFS_BLOCK,
  blocks: STATFS_BLOCKS,
  bfree: STATFS_BLOCKS,
  bavail: STATFS_BLOCKS,
  files: STATFS_FILES,
  ffree: STATFS_FILES,
  favail: STATFS_FILES,
  namemax: NAME_MAX,
})

export function wantsWrite(flags: number): boolean {
  return (flags & O_ACCMODE) !== fsConstants.O_RDONLY || (flags & fsConstants.O_TRUNC) !== 0
}

/** ENAMETOOLONG for a component over NAME_MAX bytes (the kernel lets up to 1024 through). */
export function checkName(path: string): void {
  if (path.length <= NAME_MAX && Buffer.byteLength(path) <= NAME_MAX) return
  for (const part of path.split('/')) {
    if (Buffer.byteLength(part) > NAME_MAX) throw new InvalidNameError(`${part.slice(0, 40)}…: a name is longer than ${NAME_MAX} bytes`)
  }
}

export function checkSize(path: string, size: number): void {
  if (size > MAX_FILE_BYTES) throw new FileTooLargeError(`${path}: ${size} bytes is more than the largest object S3 stores (5 TiB)`)
}
