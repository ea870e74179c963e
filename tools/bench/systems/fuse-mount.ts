// Mount bookkeeping shared by the FUSE systems: waiting until a mount point
// shows up in /proc/mounts, finding the daemon serving it, and taking it down
// again reliably (the system's own unmount, then `fusermount -u`, then a lazy
// `fusermount -uz` as the last resort so a wedged daemon cannot hang the run).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findPids } from '../env/proc-stats.js';

const execFileAsync = promisify(execFile);

/** How long a mount may take to appear, ms; s3fs and a Node daemon are usually ready within 2 s. */
const MOUNT_TIMEOUT_MS = 60_000;
/** How long a daemon may take to exit after unmount, ms. */
const EXIT_TIMEOUT_MS = 15_000;

function isMounted(mountPoint: string): boolean {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === mountPoint);
}

export async function waitForMount(mountPoint: string, isAlive: () => boolean, timeoutMs = MOUNT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isMounted(mountPoint)) {
    if (!isAlive()) throw new Error(`the daemon for ${mountPoint} exited before the mount appeared`);
    if (Date.now() > deadline) throw new Error(`${mountPoint} did not appear in /proc/mounts within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * The pid of the process serving `mountPoint`: one of its arguments is the
 * mount point itself (an exact match, so mnt-1 never matches mnt-10), and it
 * is not a fusermount helper. `argv0Hint` prefers e.g. `s3fs` or `node`.
 */
export function daemonPid(mountPoint: string, argv0Hint: string): number | undefined {
  const serving = (argv: readonly string[]): boolean => argv.includes(mountPoint) && !(argv[0] ?? '').endsWith('fusermount');
  const pids = findPids((_cmd, info) => serving(info.argv));
  const hinted = findPids((_cmd, info) => serving(info.argv) && (info.argv[0] ?? '').endsWith(argv0Hint));
  // A daemon that got the mount point inside a longer argument (e.g. --mountpoint=PATH) is found by substring.
  const loose = findPids((cmd, info) => cmd.includes(mountPoint) && !(info.argv[0] ?? '').endsWith('fusermount'));
  return hinted[0] ?? pids[0] ?? loose[0];
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function tryRun(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(cmd, args, { timeout: 30_000 });
  } catch {
    // The next, stronger step decides.
  }
}

/** Unmounts with `ownUnmount` (if any), then fusermount -u, then -uz; waits for the daemon to exit, killing it if needed. */
export async function unmount(mountPoint: string, pid: number | undefined, ownUnmount?: () => Promise<void>): Promise<void> {
  if (isMounted(mountPoint) && ownUnmount) await ownUnmount().catch(() => undefined);
  if (isMounted(mountPoint)) await tryRun('fusermount', ['-u', mountPoint]);
  if (isMounted(mountPoint)) await tryRun('fusermount', ['-uz', mountPoint]);
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) process.kill(pid as number, 'SIGKILL');
  if (isMounted(mountPoint)) throw new Error(`${mountPoint} is still mounted after fusermount -uz`);
}
