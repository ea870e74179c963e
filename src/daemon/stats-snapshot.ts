/**
 * The figures `s3cachefs stats` shows, gathered from every layer into one stable,
 * JSON-serialisable shape (documented in docs/CLI.md).
 */
import type { PassthroughStats } from 'fuse-native'
import type { WholeObjects, WholeObjectsStats } from '../cache/whole-objects.js'
import type { BlockReader, BlockReaderStats } from '../cache/block-reader.js'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import type { FetchQueue } from '../cache/fetch-queue.js'
import { crc32Implementation } from '../util/crc32.js'
import type { DirectReadStats, FilesystemCore } from '../fuse/filesystem-core.js'
import type { FuseOpCounts } from '../fuse/fuse-adapter.js'
import type { KnownFilesStats } from '../fuse/known-files.js'
import type { RequestMetrics, RequestMetricsSnapshot } from '../s3/request-metrics.js'
import type { WriteBack } from '../write/write-back.js'
import type { LoadJobStatus, LoadJobs, LoadTotals } from '../ops/load-jobs.js'
import type { ScanPrefetcher, ScanPrefetchStats } from '../prefetch/scan-prefetcher.js'
import type { AnnouncedOrders, AnnouncedOrderStats } from '../prefetch/announced-order.js'
import type { ManyNodes, ManyNodesStats } from './build-many-nodes.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import type { StaleIfErrorStats } from '../metadata/stale-if-error.js'
import type { PersistentListingManifest, PersistentManifestStats } from '../metadata/persistent-listing-manifest.js'

export interface StatsSources {
  readonly metrics: RequestMetrics
  readonly disk: DiskBlockCache
  readonly reader: BlockReader
  readonly queue: FetchQueue
  readonly core: FilesystemCore
  readonly writes: WriteBack
  readonly metadata?: MetadataStore
  readonly prefetcher?: ScanPrefetcher
  readonly announced?: AnnouncedOrders
  /** Operator commands (issue 5); absent in setups without them. */
  readonly loads?: LoadJobs
  readonly pins?: () => PinSummary[]
  readonly metricsUrl?: () => string | undefined
  /** The shared tier and coordinator (issue 13), when configured. */
  readonly many?: Pick<ManyNodes, 'stats'>
  /** The listing manifest beside the block cache, unless --no-persist-listings. */
  readonly listings?: Pick<PersistentListingManifest, 'stats'>
  /** The FUSE binding's worker thread states, once mounted. */
  readonly fuseThreads?: () => { created: number; reused: number } | undefined
  /** FUSE requests answered by operation (fuse-adapter.ts). */
  readonly fuseOps?: () => FuseOpCounts | undefined
  /** `--passthrough`: the kernel's side (the binding) once mounted, and the whole-object copies. */
  readonly passthrough?: () => PassthroughStats | undefined
  readonly whole?: Pick<WholeObjects, 'stats'>
}

export interface PinSummary {
  readonly path: string
  /** Bytes of the objects under the path when pinned (what the pin may hold). */
  readonly bytes: number
  readonly files: number
}

export interface StatsSnapshot extends ManyNodesStats {
  readonly version: 1
  /** The listing manifest on disk: hits (directories not listed again), misses, directories kept, bytes. */
  readonly listings?: PersistentManifestStats
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
    /**
     * Bytes served to readers from data already cached (memory or disk: read before,
     * loaded, prefetched) over all bytes served; 0 before any read.
     */
    readonly hitRatio: number
    readonly bytesServedFromCache: number
    readonly bytesServedFromStore: number
    /** blocksFromDisk / (blocksFromDisk + blocksFromStore): the disk cache's own hit ratio, prefetch included. */
    readonly blockHitRatio: number
    readonly bytesFromDisk: number
    readonly bytesFromStore: number
    /** bytesFromDisk / (bytesFromDisk + bytesFromStore). */
    readonly byteHitRatio: number
    /**
     * Reads the FUSE binding answered itself from block files (small cached files, off
     * the event loop), their bytes, and reads it handed back; their bytes are counted
     * in bytesServed and bytesFromDisk, and the block files it read in blocksFromDisk.
     */
    readonly direct: DirectReadStats
    /** Reads that overtook a background whole fetch with a ranged GET of their own (BlockReaderStats.overtakes). */
    readonly overtakes: BlockReaderStats['overtakes']
    /** Fetched blocks' buffers: made new, reused once nothing held them, kept by code that never gives them back (BlockPool). */
    readonly blockBuffers: BlockReaderStats['blockBuffers']
  }
  readonly s3: RequestMetricsSnapshot
  readonly queue: { readonly running: number; readonly waiting: number }
  /** The disk cache's figures, and the CRC-32 implementation its checksums use (`isa-l` through our binding, else `zlib`). */
  readonly cache: ReturnType<DiskBlockCache['stats']> & { readonly crc32: string }
  readonly openFiles: number
  /** The daemon's memory: resident set, the JS heap, memory outside it, and the in-memory block tier. */
  readonly memory: MemoryFigures
  /**
   * FUSE worker thread states the binding created since mount (one per worker thread alive at
   * once, at most), and how often a new worker took the state of one libfuse had retired.
   */
  readonly fuse?: {
    readonly threadStates?: number
    readonly threadStatesReused?: number
    readonly getattrs: number
    readonly readdirs: number
    readonly reads: number
    readonly readBytes: number
    /** FLUSH requests the kernel sent on close (none for clean read-only handles, opened with FOPEN_NOFLUSH). */
    readonly flushes: number
    /**
     * getattrs and read-only opens of clean cached files the binding answered itself, opens it
     * could not report (queue full), paths published to it, and handles of its opens adopted by
     * the daemon (a block evicted while open). Absent when the binding answers none.
     */
    readonly known?: KnownFilesStats
  }
  /**
   * `--passthrough`: what the kernel granted and the opens it read itself (`kernel`, absent until
   * mounted), and the whole-object copies it reads (`copies`). Absent when off.
   */
  readonly passthrough?: { readonly kernel?: PassthroughStats; readonly copies: WholeObjectsStats }
  /** Lookups and listings answered past their TTL because the store failed (--stale-if-error). */
  readonly staleIfError: StaleIfErrorStats
  /** Written files waiting for upload, uploads done, bytes uploaded, failed attempts. */
  readonly writes: ReturnType<WriteBack['stats']>
  /** Cross-file prefetch: jobs, files queued and prefetched, hits, bytes prefetched but not read. */
  readonly prefetch: ScanPrefetchStats & { readonly announced: AnnouncedOrderStats & { readonly sessions: number } }
  /** `s3cachefs load` jobs: totals over the jobs remembered, and the jobs. */
  readonly loads: LoadTotals & { readonly jobs: readonly LoadJobStatus[] }
  /** Pinned paths of this mount. */
  readonly pins: readonly PinSummary[]
  /** Failures by kind: S3 requests and reads by error code, cache and load failures. */
  readonly errors: {
    readonly s3: Readonly<Record<string, number>>
    readonly reads: Readonly<Record<string, number>>
    readonly cacheWrites: number
    readonly cacheCorrupt: number
    readonly loadFiles: number
  }
  /** The Prometheus endpoint, when mounted with --metrics-port. */
  readonly metricsUrl?: string
}

export interface MemoryFigures {
  readonly rssBytes: number
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  /** ArrayBuffers and other memory V8 does not place in its heap (block buffers, the disk cache's index arrays). */
  readonly externalBytes: number
  /** Bytes the in-memory block tier counts against --memory-cache-size, and the bytes its buffers really keep alive. */
  readonly memoryTierBytes: number
  readonly memoryTierRetainedBytes: number
}

function memoryFigures(reader: BlockReader): MemoryFigures {
  const m = process.memoryUsage()
  const tier = reader.memoryUsage()
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    memoryTierBytes: tier.countedBytes,
    memoryTierRetainedBytes: tier.retainedBytes,
  }
}

function fuseFigures(s: StatsSources, direct: DirectReadStats): Pick<StatsSnapshot, 'fuse'> {
  const ops = s.fuseOps?.()
  if (ops === undefined) return {}
  const t = s.fuseThreads?.()
  const known = s.core.knownFileStats()
  return {
    fuse: {
      ...(t === undefined ? {} : { threadStates: t.created, threadStatesReused: t.reused }),
      getattrs: ops.getattr,
      readdirs: ops.readdir,
      reads: ops.read,
      readBytes: ops.readBytes,
      flushes: direct.flushes,
      ...(known === undefined ? {} : { known }),
    },
  }
}

function passthroughFigures(s: StatsSources): Pick<StatsSnapshot, 'passthrough'> {
  if (s.whole === undefined) return {}
  const kernel = s.passthrough?.()
  return { passthrough: { ...(kernel === undefined ? {} : { kernel }), copies: s.whole.stats() } }
}

const NO_PREFETCH: ScanPrefetchStats = { jobs: 0, filesQueued: 0, filesPrefetched: 0, bytesPrefetched: 0, hits: 0, hitBytes: 0, bytesNotRead: 0 }
const NO_ANNOUNCED = { sessions: 0, files: 0, position: 0, prefetched: 0, bytesPrefetched: 0, hits: 0, skipped: 0 }
const NO_LOADS: LoadTotals = { active: 0, objectsLoading: 0, files: 0, filesDone: 0, bytes: 0, bytesDone: 0, failedFiles: 0 }

export function takeSnapshot(s: StatsSources, info: { mountPoint: string; source: string; startedMs: number }): StatsSnapshot {
  const r = s.reader.stats()
  const direct = s.core.directReadStats()
  const diskBlocks = r.diskHits + direct.blocks
  const blocks = diskBlocks + r.fetchedBlocks
  const fromDisk = r.bytesFromDisk + direct.bytes
  const bytes = fromDisk + r.bytesFromStore
  return {
    version: 1,
    mountPoint: info.mountPoint,
    source: info.source,
    uptimeSeconds: Math.round((Date.now() - info.startedMs) / 1000),
    reads: {
      bytesServed: r.bytesServed + direct.bytes,
      memoryHits: r.memoryHits,
      blocksFromDisk: diskBlocks,
      blocksFromStore: r.fetchedBlocks,
      // Direct reads are served from the disk cache by definition (only fully cached files are registered).
      hitRatio: r.bytesServed + direct.bytes === 0 ? 0 : (r.bytesServedFromCache + direct.bytes) / (r.bytesServed + direct.bytes),
      bytesServedFromCache: r.bytesServedFromCache + direct.bytes,
      bytesServedFromStore: r.bytesServedFromStore,
      blockHitRatio: blocks === 0 ? 0 : diskBlocks / blocks,
      bytesFromDisk: fromDisk,
      bytesFromStore: r.bytesFromStore,
      byteHitRatio: bytes === 0 ? 0 : fromDisk / bytes,
      direct,
      overtakes: r.overtakes,
      blockBuffers: r.blockBuffers,
    },
    s3: s.metrics.snapshot(),
    queue: { running: s.queue.pending, waiting: s.queue.queued },
    cache: { ...s.disk.stats(), crc32: crc32Implementation() },
    openFiles: s.core.openHandles,
    memory: memoryFigures(s.reader),
    ...fuseFigures(s, direct),
    ...passthroughFigures(s),
    staleIfError: s.metadata?.staleStats() ?? { staleAnswers: 0, episodes: 0, active: false },
    writes: s.writes.stats(),
    prefetch: { ...(s.prefetcher?.stats() ?? NO_PREFETCH), announced: s.announced?.stats() ?? NO_ANNOUNCED },
    ...opsFigures(s, r),
    ...(s.many?.stats() ?? {}),
    ...(s.listings !== undefined ? { listings: s.listings.stats() } : {}),
  }
}

function opsFigures(s: StatsSources, r: ReturnType<BlockReader['stats']>): Pick<StatsSnapshot, 'loads' | 'pins' | 'errors' | 'metricsUrl'> {
  const loads = s.loads?.totals() ?? NO_LOADS
  const cache = s.disk.stats()
  const metricsUrl = s.metricsUrl?.()
  return {
    loads: { ...loads, jobs: s.loads?.list() ?? [] },
    pins: s.pins?.() ?? [],
    errors: {
      s3: s.metrics.snapshot().errorsByCode,
      reads: r.readErrorsByCode,
      cacheWrites: cache.writeErrors,
      cacheCorrupt: cache.corruptBlocks,
      loadFiles: loads.failedFiles,
    },
    ...(metricsUrl !== undefined ? { metricsUrl } : {}),
  }
}
