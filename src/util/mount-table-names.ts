import { realpathSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * The spellings under which the mount table (/proc/mounts, mountinfo) may show `mountPoint`:
 * as given (made absolute) and with its parent's symlinks resolved, as the kernel records it.
 * The mount point itself is never resolved: a daemon would be asking its own mount.
 */
export function mountTableNames(mountPoint: string): Set<string> {
  const given = resolve(mountPoint)
  const names = new Set([mountPoint, given])
  try {
    names.add(join(realpathSync(dirname(given)), basename(given)))
  } catch {
    /* the parent is gone: keep the names as given */
  }
  return names
}

/** A path as /proc/mounts and mountinfo spell it, decoded: space, tab, newline and backslash are `\ooo`. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}
