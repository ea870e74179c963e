// A FUSE mount's connection as the kernel shows it under /sys/fs/fuse/connections/N
// (fusectl; N is the minor of the mount's anonymous device, found in mountinfo, never by a
// stat of the mount point). Root only. The bench gives the FUSE ceiling (passthrough_ll)
// the background bounds s3cachefs asks for its own mounts at INIT, as it gives it the same
// read-ahead window; the tests read what the kernel took.
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { mountEntry } from '../../../src/fuse/kernel-read-ahead.js';
import { mountTableNames } from '../../../src/util/mount-table-names.js';

const execFileAsync = promisify(execFile);
const CONNECTIONS = '/sys/fs/fuse/connections';

export interface BackgroundBounds {
  /** Background requests (read-ahead reads, releases) the kernel keeps in flight. */
  readonly max: number;
  /** From this many, the mount counts as congested and read-ahead drops its asynchronous part. */
  readonly congested: number;
}

/** The connection's directory for the FUSE mount at `mountPoint`; fusectl is mounted first when it is not. */
export async function fuseConnectionDir(mountPoint: string): Promise<string> {
  const entry = mountEntry(await readFile('/proc/self/mountinfo', 'utf8'), mountTableNames(mountPoint));
  const type = entry?.type ?? '';
  const [major, minor] = (entry?.device ?? '').split(':');
  if (!(type === 'fuse' || type.startsWith('fuse.')) || major !== '0' || minor === undefined || !/^\d+$/.test(minor)) throw new Error(`no FUSE mount at ${mountPoint}`);
  const dir = `${CONNECTIONS}/${minor}`;
  const present = async (): Promise<boolean> =>
    access(dir).then(
      () => true,
      () => false,
    );
  if (!(await present())) {
    await execFileAsync('mount', ['-t', 'fusectl', 'none', CONNECTIONS], { timeout: 10_000 }).catch(() => undefined);
    if (!(await present())) throw new Error(`${dir} is missing (fusectl could not be mounted)`);
  }
  return dir;
}

export async function backgroundBounds(mountPoint: string): Promise<BackgroundBounds> {
  const dir = await fuseConnectionDir(mountPoint);
  const read = async (name: string): Promise<number> => Number((await readFile(`${dir}/${name}`, 'utf8')).trim());
  return { max: await read('max_background'), congested: await read('congestion_threshold') };
}

/**
 * Sets the mount's bounds as s3cachefs's INIT reply does for `max` (at least 1: fusectl, unlike
 * INIT, takes a 0, which would stop every background request): congested at three quarters, at least 1.
 */
export async function setBackgroundBounds(mountPoint: string, max: number): Promise<BackgroundBounds> {
  if (!Number.isInteger(max) || max < 1 || max > 65535) throw new RangeError(`background bound ${max}: must be a whole number from 1 to 65535`);
  const dir = await fuseConnectionDir(mountPoint);
  await writeFile(`${dir}/max_background`, `${max}\n`);
  await writeFile(`${dir}/congestion_threshold`, `${Math.max(1, Math.floor((max * 3) / 4))}\n`);
  return backgroundBounds(mountPoint);
}
