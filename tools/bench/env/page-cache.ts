// Drops the kernel's page, dentry and inode caches between epochs, as the
// reference method does (`sync; echo 3 > /proc/sys/vm/drop_caches`). This is
// what makes a "warm" epoch measure the system's own cache (disk blocks,
// metadata) instead of RAM. It needs root and a writable /proc/sys; inside
// some containers it is refused, and the report must then say so.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface DropResult {
  readonly dropped: boolean;
  /** Why not, when not dropped. */
  readonly reason?: string;
}

export function dropPageCache(): DropResult {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return { dropped: true };
  } catch (err) {
    return { dropped: false, reason: (err as Error).message.split('\n')[0] ?? 'unknown error' };
  }
}
