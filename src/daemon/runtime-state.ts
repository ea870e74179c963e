/**
 * Where a running daemon records itself, so `unmount` (and later control commands)
 * can find it from the mount point: one JSON file per mount point in a runtime
 * directory private to the user.
 *
 * The runtime directory is the first of these that is absent or a real directory
 * owned by the user (never a symlink, never another user's — a predictable name in
 * /tmp may have been created by someone else): $S3CACHEFS_RUNTIME_DIR, /run/s3cachefs
 * for root, $XDG_RUNTIME_DIR/s3cachefs, /tmp/s3cachefs-UID, ~/.s3cachefs/run. The
 * daemon creates it 0700 (tightening a looser one it owns) and checks it again after.
 * `unmount` signals a recorded pid only once /proc shows it is our daemon for that
 * mount point (a pid may have been reused since the record was written).
 */
import { createHash } from 'node:crypto'
import { lstatSync, readFileSync, readlinkSync } from 'node:fs'
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '../errors.js'

export interface DaemonRecord {
  readonly pid: number
  readonly mountPoint: string
  readonly source: string
  readonly cacheDir: string
  readonly logFile: string
  readonly startedAt: string
}

function runtimeDir(): string {
  if (process.env.S3CACHEFS_RUNTIME_DIR) return process.env.S3CACHEFS_RUNTIME_DIR
  const candidates = runtimeDirCandidates()
  return firstUsableDir(candidates, process.getuid?.() ?? 0) ?? (candidates[candidates.length - 1] as string)
}

/** The first candidate that is absent (ours to create) or a real directory owned by `uid`. */
export function firstUsableDir(candidates: readonly string[], uid: number): string | undefined {
  return candidates.find(dir => usable(dir, uid))
}

function runtimeDirCandidates(): string[] {
  const uid = process.getuid?.() ?? 0
  const out: string[] = []
  if (uid === 0) out.push('/run/s3cachefs')
  if (process.env.XDG_RUNTIME_DIR) out.push(join(process.env.XDG_RUNTIME_DIR, 's3cachefs'))
  out.push(join(tmpdir(), `s3cachefs-${uid}`), join(homedir(), '.s3cachefs', 'run'))
  return out
}

function usable(dir: string, uid: number): boolean {
  try {
    const st = lstatSync(dir)
    return st.isDirectory() && st.uid === uid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
  }
}

function mountId(mountPoint: string): string {
  return createHash('sha256').update(mountPoint).digest('hex').slice(0, 16)
}

function recordPath(mountPoint: string): string {
  return join(runtimeDir(), `${mountId(mountPoint)}.json`)
}

/** The control socket of the daemon serving `mountPoint`. */
export function controlSocketPath(mountPoint: string): string {
  return join(runtimeDir(), `${mountId(mountPoint)}.sock`)
}

export async function ensureRuntimeDir(): Promise<void> {
  const dir = runtimeDir()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await lstat(dir)
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? 0)) {
    throw new ConfigError(`runtime directory ${dir} is not a directory owned by this user; remove it or set S3CACHEFS_RUNTIME_DIR`)
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700)
}

export async function writeDaemonRecord(record: DaemonRecord): Promise<void> {
  await ensureRuntimeDir()
  await writeFile(recordPath(record.mountPoint), JSON.stringify(record) + '\n', { mode: 0o600 })
}

export async function readDaemonRecord(mountPoint: string): Promise<DaemonRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(mountPoint), 'utf8')) as DaemonRecord
  } catch {
    return undefined
  }
}

export async function removeDaemonRecord(mountPoint: string): Promise<void> {
  await rm(recordPath(mountPoint), { force: true })
}

/**
 * Whether `record.pid` is the s3cachefs daemon serving `record.mountPoint`: its
 * command line is `… mount SOURCE MOUNTPOINT …` (the mount point as given, relative
 * to its working directory). False for a gone or reused pid.
 */
export function isOurDaemon(record: DaemonRecord): boolean {
  if (!isAlive(record.pid)) return false
  try {
    const args = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0')
    const cwd = readlinkSync(`/proc/${record.pid}/cwd`)
    const at = args.indexOf('mount')
    return at >= 0 && args.slice(at + 1).some(a => a.length > 0 && resolve(cwd, a) === record.mountPoint)
  } catch {
    return false
  }
}

/** Whether `pid` runs. A zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}
