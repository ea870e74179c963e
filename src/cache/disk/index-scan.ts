/**
 * Rebuilds the index from the directory at start when there is no valid snapshot
 * (disk/index-snapshot.ts; after a crash, or the first start of this version): every
 * block file under `blocks/`, with its size and mtime (the start of its TTL after a
 * restart), goes into the index (`BlockIndex.restore`) as each directory is read, so no
 * list of all files is ever held; the index ranks them by mtime at the end
 * (`finishRestore`). Stat calls go 64 at a time; the scan stops early when the cache
 * is closing (the next start scans again).
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BlockIndex } from '../block-index.js'

/** Stat calls in flight during the scan. */
const SCAN_STAT_CONCURRENCY = 64

/** Adds every block file found to the index; false if `stopping()` turned true on the way. */
export async function scanBlockFiles(blocksDir: string, index: BlockIndex, stopping: () => boolean): Promise<boolean> {
  for (const sub of await readdir(blocksDir)) {
    if (stopping()) return false
    const names = await readdir(join(blocksDir, sub)).catch(() => [] as string[])
    for (let i = 0; i < names.length; i += SCAN_STAT_CONCURRENCY) {
      await Promise.all(
        names.slice(i, i + SCAN_STAT_CONCURRENCY).map(async name => {
          const dot = name.lastIndexOf('.')
          const blockIndex = Number(name.slice(dot + 1))
          if (dot <= 0 || !Number.isInteger(blockIndex) || blockIndex < 0) return
          const st = await stat(join(blocksDir, sub, name)).catch(() => undefined)
          if (st?.isFile()) index.restore(name.slice(0, dot), blockIndex, st.size, st.mtimeMs)
        }),
      )
    }
  }
  return true
}
