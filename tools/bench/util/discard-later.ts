// The caches of closed mounts are moved aside into the run's scratch directory and removed
// with it at the end of the run, not at once. On a file system whose inode allocator skips
// inodes freed in the last minute (six while their table block is dirty) — ext4 without a
// journal, as on this project's machines (ext4's recently_deleted(), checked only when there
// is no journal) — removing a cache of thousands of files made every file created over the
// next minutes cost a scan past them: a daemon writing a block file per MiB then spent ~7 %
// of its CPU on the previous phase's cleanup (docs/ARCHITECTURE.md, session 23). A rename
// frees no inode. With less than MIN_FREE_BYTES free on the disk, a cache is removed at once.
import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** More than the largest --cache-size a bench mount is given (20 GiB), so that no later mount finds its disk full. */
const MIN_FREE_BYTES = 32 * 1024 ** 3;
let discarded = 0;

/** Removes `dir` now, or moves it into `workDir`'s trash (removed with `workDir` at the end of the run). */
export async function discardLater(dir: string, workDir: string, minFreeBytes = MIN_FREE_BYTES): Promise<void> {
  try {
    const fs = await statfs(workDir);
    if (fs.bavail * fs.bsize >= minFreeBytes) {
      const trash = join(workDir, 'trash');
      await mkdir(trash, { recursive: true });
      await rename(dir, join(trash, String(++discarded)));
      return;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing to discard
    // EXDEV (another file system) or anything else: removed now instead.
  }
  await rm(dir, { recursive: true, force: true });
}
