/**
 * Where a running daemon records itself, so `unmount` (and later control commands)
 * can find it from the mount point: one JSON file per mount point in a runtime
 * directory private to the user.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface DaemonRecord {
  readonly pid: number
  readonly mountPoint: string
  readonly source: string
  readonly cacheDir: string
  readonly logFile: string
  readonly startedAt: string
}

export function runtimeDir(): string {
  if (process.env.S3CACHEFS_RUNTIME_DIR) return process.env.S3CACHEFS_RUNTIME_DIR
  const uid = process.getuid?.() ?? 0
  if (uid === 0) return '/run/s3cachefs'
  return process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 's3cachefs') : join(tmpdir(), `s3cachefs-${uid}`)
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
  await mkdir(runtimeDir(), { recursive: true, mode: 0o700 })
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
