/**
 * Checks made before mounting, each failing with a one-line error that says what
 * to do: the mount point (exists, is a directory, is empty, is not mounted) and the
 * cache directory (creatable, writable, has free space, not used by another daemon).
 */
import { constants } from 'node:fs'
import { unescapeMountPath } from '../util/mount-table-names.js'
import { access, chmod, mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, MountPointError } from '../errors.js'
import { formatBytes } from '../config/units.js'
import { MIN_CACHE_FREE_BYTES } from '../config/defaults.js'

/** Mount points listed in /proc/mounts (octal escapes decoded). */
export async function mountedPaths(): Promise<Map<string, string>> {
  const text = await readFile('/proc/mounts', 'utf8').catch(() => '')
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const [, mp, type] = line.split(' ')
    if (mp !== undefined && type !== undefined) out.set(unescapeMountPath(mp), type)
  }
  return out
}

export async function checkMountPoint(mountPoint: string): Promise<void> {
  const mounted = await mountedPaths()
  if (mounted.has(mountPoint)) throw new MountPointError(`mount point ${mountPoint} is already mounted (${mounted.get(mountPoint)}); unmount it first`)
  let st
  try {
    st = await stat(mountPoint)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTCONN') throw new MountPointError(`mount point ${mountPoint} is a dead FUSE mount; run 'fusermount -u ${mountPoint}'`)
    throw new MountPointError(`mount point ${mountPoint} does not exist; create it with 'mkdir -p ${mountPoint}'`)
  }
  if (!st.isDirectory()) throw new MountPointError(`mount point ${mountPoint} is not a directory`)
  const entries = await readdir(mountPoint)
  if (entries.length > 0) throw new MountPointError(`mount point ${mountPoint} is not empty (${entries.length} entries); use an empty directory`)
}

/**
 * Creates the cache directory if needed (0700), tightens one other users could read,
 * and checks that blocks can be written there. Returns a warning to show, if any.
 */
export async function checkCacheDir(dir: string): Promise<string | undefined> {
  let warning: string | undefined
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const mode = (await stat(dir)).mode & 0o777
    if ((mode & 0o077) !== 0) {
      await chmod(dir, 0o700)
      warning = `--cache-dir ${dir} was readable by other users (mode ${mode.toString(8)}); it is 0700 now`
    }
    await access(dir, constants.W_OK)
    const probe = join(dir, `.probe-${process.pid}`)
    await writeFile(probe, 'ok')
    await rm(probe, { force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC') throw new ConfigError(`--cache-dir ${dir}: the disk is full`)
    throw new ConfigError(`--cache-dir ${dir}: not writable (${code ?? String(err)})`)
  }
  const fs = await statfs(dir)
  const free = fs.bavail * fs.bsize
  if (free < MIN_CACHE_FREE_BYTES) {
    throw new ConfigError(`--cache-dir ${dir}: only ${formatBytes(free)} free on its disk; s3cachefs needs at least ${formatBytes(MIN_CACHE_FREE_BYTES)}`)
  }
  return warning
}
