/**
 * The kernel's read-ahead for one FUSE mount. The kernel sizes a read request by its
 * read-ahead window: at its default of 128 KiB, a sequential reader of a mounted file costs
 * the daemon one request per 128 KiB whatever the application asks for, while libfuse 3
 * accepts requests of up to 1 MiB (`max_pages`). The window is a property of the mount's
 * backing device (`/sys/class/bdi/MAJOR:MINOR/read_ahead_kb`), which only root may change
 * and which a FUSE filesystem cannot set through its INIT reply (the kernel takes the lower of
 * its own offer and the answer). Found through /proc/self/mountinfo, never by a stat of the
 * mount point: this process serves that mount and must not call into it.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { mountTableNames, unescapeMountPath } from '../util/mount-table-names.js'

export type ReadAheadOutcome = { set: true; device: string; kib: number } | { set: false; reason: string }

/** The mount at any of `names` in mountinfo's text (the last mount there wins: it is the one on top): its `major:minor` and file system type. */
export function mountEntry(mountinfo: string, names: ReadonlySet<string>): { device: string; type: string } | undefined {
  let entry: { device: string; type: string } | undefined
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ')
    if (fields.length < 5) continue
    if (!names.has(unescapeMountPath(fields[4] ?? ''))) continue
    // After the optional fields (from the seventh on), '-' and then the type.
    const dash = fields.indexOf('-', 6)
    entry = { device: fields[2] ?? '', type: dash > 0 ? (fields[dash + 1] ?? '') : '' }
  }
  return entry
}

/** `major:minor` of the mount at any of `names`, from mountinfo's text. */
export function mountDevice(mountinfo: string, names: ReadonlySet<string>): string | undefined {
  return mountEntry(mountinfo, names)?.device
}

/** Sets the mount's read-ahead window; says why not when it cannot (not root, no sysfs). Never throws. */
export async function setKernelReadAhead(mountPoint: string, kib: number): Promise<ReadAheadOutcome> {
  try {
    const device = mountDevice(await readFile('/proc/self/mountinfo', 'utf8'), mountTableNames(mountPoint))
    if (device === undefined || !/^\d+:\d+$/.test(device)) return { set: false, reason: `no mount at ${mountPoint} in /proc/self/mountinfo` }
    await writeFile(`/sys/class/bdi/${device}/read_ahead_kb`, `${kib}\n`)
    return { set: true, device, kib }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { set: false, reason: code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'only root may change it' : String((err as Error).message) }
  }
}
