/**
 * Rebuilds the list of blocks on disk at start: every block file under `blocks/`,
 * with its size and mtime (the start of its TTL after a restart), oldest first so
 * the index ranks them for eviction in that order. Stat calls go 64 at a time; the
 * scan stops early when the cache is closing (the next start scans again).
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ScannedBlock } from '../block-index.js'

/** Stat calls in flight during the scan. */
const SCAN_STAT_CONCURRENCY = 64

/** The blocks found, oldest first; undefined if `stopping()` turned true on the way. */
export async function scanBlockFiles(blocksDir: string, stopping: () => boolean): Promise<ScannedBlock[] | undefined> {
  const found: ScannedBlock[] = []
  for (const sub of await readdir(blocksDir)) {
    if (stopping()) return undefined
    const names = await readdir(join(blocksDir, sub)).catch(() => [] as string[])
    for (let i = 0; i < names.length; i += SCAN_STAT_CONCURRENCY) {
      await Promise.all(
        names.slice(i, i + SCAN_STAT_CONCURRENCY).map(async name => {
          const dot = name.lastIndexOf('.')
          const index = Number(name.slice(dot + 1))
          if (dot <= 0 || !Number.isInteger(index)) return
          const st = await stat(join(blocksDir, sub, name)).catch(() => undefined)
          if (st?.isFile()) found.push({ objectId: name.slice(0, dot), index, bytes: st.size, mtimeMs: st.mtimeMs })
        }),
      )
    }
  }
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs)
}
