/**
 * The figures `s3cachefs stats` shows, gathered from every layer into one stable,
 * JSON-serialisable shape (documented in docs/CLI.md).
 */
import type { BlockReader } from '../cache/block-reader.js'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import type { FetchQueue } from '../cache/fetch-queue.js'
import type { FilesystemCore } from '../fuse/filesystem-core.js'
import type { RequestMetrics, RequestMetricsSnapshot } from '../s3/request-metrics.js'

export interface StatsSources {
  readonly metrics: RequestMetrics
  readonly disk: DiskBlockCache
  readonly reader: BlockReader
  readonly queue: FetchQueue
  readonly core: FilesystemCore
}

export interface StatsSnapshot {
  readonly version: 1
  readonly mountPoint: string
  readonly source: string
  readonly uptimeSeconds: number
  readonly reads: {
    /** Bytes returned to readers. */
    readonly bytesServed: number
    /** Block lookups answered from the in-memory block cache. */
    readonly memoryHits: number
    /** Blocks brought into memory from the disk cache (hits) and from S3 (misses). */
    readonly blocksFromDisk: number
    readonly blocksFromStore: number
    /** blocksFromDisk / (blocksFromDisk + blocksFromStore); 0 when nothing was loaded. */
    readonly hitRatio: number
    readonly bytesFromDisk: number
    readonly bytesFromStore: number
    /** bytesFromDisk / (bytesFromDisk + bytesFromStore). */
    readonly byteHitRatio: number
  }
  readonly s3: RequestMetricsSnapshot
  readonly queue: { readonly running: number; readonly waiting: number }
  readonly cache: ReturnType<DiskBlockCache['stats']>
  readonly openFiles: number
}

export function takeSnapshot(s: StatsSources, info: { mountPoint: string; source: string; startedMs: number }): StatsSnapshot {
  const r = s.reader.stats()
  const blocks = r.diskHits + r.fetchedBlocks
  const bytes = r.bytesFromDisk + r.bytesFromStore
  return {
    version: 1,
    mountPoint: info.mountPoint,
    source: info.source,
    uptimeSeconds: Math.round((Date.now() - info.startedMs) / 1000),
    reads: {
      bytesServed: r.bytesServed, memoryHits: r.memoryHits,
      blocksFromDisk: r.diskHits, blocksFromStore: r.fetchedBlocks,
      hitRatio: blocks === 0 ? 0 : r.diskHits / blocks,
      bytesFromDisk: r.bytesFromDisk, bytesFromStore: r.bytesFromStore,
      byteHitRatio: bytes === 0 ? 0 : r.bytesFromDisk / bytes,
    },
    s3: s.metrics.snapshot(),
    queue: { running: s.queue.pending, waiting: s.queue.queued },
    cache: s.disk.stats(),
    openFiles: s.core.openHandles,
  }
}
