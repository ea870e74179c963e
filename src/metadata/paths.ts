/**
 * Mapping between FUSE paths (`/train/n01/x.JPEG`) and S3 keys relative to the
 * mount's prefix (`train/n01/x.JPEG`). Directories are key prefixes ending in `/`.
 */
import { InvalidNameError } from '../errors.js'

/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024

export function isRoot(path: string): boolean {
  return path === '/' || path === ''
}

/** `/a/b` → `a/b`. */
export function pathToKey(path: string): string {
  const key = path.replace(/^\/+/, '')
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidNameError(`${path}: longer than S3's ${MAX_KEY_BYTES}-byte key limit`)
  return key
}

/** `/a/b` → `a/b/`; `/` → ``. */
export function pathToPrefix(path: string): string {
  return isRoot(path) ? '' : pathToKey(path) + '/'
}

/** `/a/b` → `/a`; `/a` → `/`. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

/** `/a/b` → `b`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** `/a` + `b` → `/a/b`. */
export function joinPath(dir: string, name: string): string {
  return isRoot(dir) ? '/' + name : dir + '/' + name
}

/** Whether a listing name can be shown as a directory entry. */
export function isRepresentableName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('\0') && Buffer.byteLength(name) <= 255
}

/** The directories above `path`, up to the root: a new name may create implicit directories in each. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = []
  for (let p = parentOf(path); ; p = parentOf(p)) {
    out.push(p)
    if (isRoot(p)) return out
  }
}
