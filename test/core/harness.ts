/**
 * Builds the filesystem over the in-memory client, with fault injection and request
 * counting, for core tests: the daemon's own composition root (buildFilesystem and
 * composeClient) with test-sized configs and a fake clock.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { BlockReader, BlockReaderConfig } from '../../src/cache/block-reader.js'
import type { DiskBlockCache } from '../../src/cache/disk-block-cache.js'
import { buildFilesystem, type FilesystemSetup } from '../../src/daemon/build-filesystem.js'
import type { FilesystemCore } from '../../src/fuse/filesystem-core.js'
import type { MetadataConfig, MetadataStore } from '../../src/metadata/metadata-store.js'
import type { AnnouncedOrderStats } from '../../src/prefetch/announced-order.js'
import type { ScanPrefetchConfig, ScanPrefetcher } from '../../src/prefetch/scan-prefetcher.js'
import { composeClient } from '../../src/s3/client-stack.js'
import type { FaultInjectingClient } from '../../src/s3/fault-injecting-client.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import type { RequestMetrics } from '../../src/s3/request-metrics.js'
import type { StagingLimits } from '../../src/write/staging-budget.js'
import type { WriteBack, WriteMode } from '../../src/write/write-back.js'

export const MiB = 1024 * 1024
export const log = pino({ level: 'silent' })

export interface Harness {
  store: MemoryObjectClient
  faults: FaultInjectingClient
  metrics: RequestMetrics
  disk: DiskBlockCache
  reader: BlockReader
  metadata: MetadataStore
  core: FilesystemCore
  writes: WriteBack
  prefetcher: ScanPrefetcher
  /** The default session of the announced orders. */
  announced: { announce(paths: readonly string[], append: boolean): unknown; stats(): AnnouncedOrderStats }
  cacheDir: string
  clock: { now: number }
  counts(): { get: number; head: number; list: number }
  /** Rebuilds everything above the store on the same cache directory, as a remount does. */
  remount(): Promise<Harness>
  close(): Promise<void>
}

export interface HarnessOptions {
  cacheBytes?: number
  reader?: Partial<BlockReaderConfig>
  metadata?: Partial<MetadataConfig>
  cacheDir?: string
  store?: MemoryObjectClient
  writeMode?: WriteMode
  readOnly?: boolean
  backlogFiles?: number
  streamPartBytes?: number
  /** `--staging-size` and its wait; unbounded unless given. */
  staging?: StagingLimits
  renameDirMaxObjects?: number
  /** Cross-file prefetch, off unless given. */
  prefetch?: Partial<ScanPrefetchConfig>
  /** TTL of cached blocks (--cache-ttl); none unless given. */
  diskTtlMs?: number
}

/** Test-sized configs of every layer: small blocks and caches, generous bounds. */
export function testSetup(cacheDir: string, opts: HarnessOptions = {}): FilesystemSetup {
  const cacheBytes = opts.cacheBytes ?? 1024 * MiB
  return {
    disk: {
      dir: cacheDir,
      maxBytes: cacheBytes,
      maxPendingWrites: 1000,
      namespace: 'test',
      ...(opts.diskTtlMs !== undefined ? { defaultTtlMs: opts.diskTtlMs } : {}),
    },
    queue: { concurrency: 8, inFlightBudgetBytes: 64 * MiB, maxQueuedPrefetch: 64 },
    reader: {
      blockSize: MiB,
      partSize: 4 * MiB,
      wholeObjectMaxBytes: 4 * MiB,
      memoryCacheBytes: 16 * MiB,
      readAheadBudgetBytes: 128 * MiB,
      namespace: 'test',
      ...opts.reader,
    },
    metadata: { ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 100_000, maxListedChildren: 100_000, ...opts.metadata },
    listings: undefined,
    write: {
      mode: opts.writeMode ?? 'sync',
      source: { bucket: 'test', prefix: '' },
      uploadConcurrency: 8,
      uploadBufferBudgetBytes: 64 * MiB,
      backlog: { maxFiles: opts.backlogFiles ?? 1000, maxBytes: 1024 * MiB },
      recoveredKeepMs: 7 * 24 * 3600_000,
      streamPartBytes: opts.streamPartBytes ?? 2 * MiB,
      staging: opts.staging ?? { maxBytes: Number.POSITIVE_INFINITY, waitMs: 0 },
    },
    fs: {
      uid: 1000,
      gid: 1000,
      fileMode: 0o644,
      dirMode: 0o755,
      readOnly: opts.readOnly ?? false,
      fileReader: {
        readAhead: { initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 4 * MiB },
        randomReadsBeforeWholeFetch: 4,
        wholeFetchMaxBytes: cacheBytes / 4,
      },
      adoptMaxBytes: 64 * MiB,
      namespace: { renameDirMaxObjects: opts.renameDirMaxObjects ?? 1000 },
    },
    prefetch: { distinctOpensToStart: 0, windowMs: 60_000, idleStopMs: 10_000, filesInFlight: 8, maxFileBytes: 64 * MiB, ...opts.prefetch },
    announced: { windowFiles: 16, windowBytes: 64 * MiB, concurrency: 8, maxPaths: 100_000 },
  }
}

export async function makeHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const store = opts.store ?? new MemoryObjectClient()
  const cacheDir = opts.cacheDir ?? (await mkdtemp(join(tmpdir(), 's3cachefs-core-')))
  const { client, metrics, faults } = composeClient(store, { injectFaults: true })
  const clock = { now: 1_000_000 }
  const fs = await buildFilesystem(testSetup(cacheDir, opts), { client, log, clock: () => clock.now })
  const { disk, reader, metadata, core, writes, prefetcher } = fs
  const announced = {
    announce: (paths: readonly string[], append: boolean) => fs.announced.announce('default', paths, append),
    stats: () => fs.announced.stats(),
  }
  const remounts: Harness[] = []
  const h: Harness = {
    store,
    faults: faults as FaultInjectingClient,
    metrics,
    disk,
    reader,
    metadata,
    core,
    writes,
    prefetcher,
    announced,
    cacheDir,
    clock,
    counts: () => {
      const k = metrics.snapshot().byKind
      return { get: k.get.count, head: k.head.count, list: k.list.count }
    },
    remount: async () => {
      await disk.drain()
      const next = await makeHarness({ ...opts, cacheDir, store })
      remounts.push(next)
      return next
    },
    close: async () => {
      await disk.drain()
      for (const r of remounts) await r.close()
      if (opts.cacheDir === undefined) await rm(cacheDir, { recursive: true, force: true })
    },
  }
  return h
}

/** Reads a whole file through the core in `chunk`-sized pieces, as the kernel does. */
export async function readAll(core: FilesystemCore, path: string, chunk = 128 * 1024): Promise<Buffer> {
  const fh = await core.open(path, 0)
  const size = (await core.getattr(path)).size
  const parts: Buffer[] = []
  for (let off = 0; off < size; off += chunk) parts.push(Buffer.from(await core.read(fh, off, chunk)))
  core.release(fh)
  return Buffer.concat(parts)
}
