/** Builds the filesystem core over the in-memory client, with request counting, for core tests. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { BlockReader, type BlockReaderConfig } from '../../src/cache/block-reader.js'
import { DiskBlockCache } from '../../src/cache/disk-block-cache.js'
import { FetchQueue } from '../../src/cache/fetch-queue.js'
import { FilesystemCore } from '../../src/fuse/filesystem-core.js'
import { MetadataStore, type MetadataConfig } from '../../src/metadata/metadata-store.js'
import { FaultInjectingClient } from '../../src/s3/fault-injecting-client.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import { MeteredClient } from '../../src/s3/metered-client.js'
import { RequestMetrics } from '../../src/s3/request-metrics.js'
import { StagingStore } from '../../src/write/staging-store.js'
import type { StagingLimits } from '../../src/write/staging-budget.js'
import { WriteBack, type WriteMode } from '../../src/write/write-back.js'
import { ScanPrefetcher, type ScanPrefetchConfig } from '../../src/prefetch/scan-prefetcher.js'
import { AnnouncedOrder } from '../../src/prefetch/announced-order.js'

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
  announced: AnnouncedOrder
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
}

export async function makeHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const store = opts.store ?? new MemoryObjectClient()
  const cacheDir = opts.cacheDir ?? await mkdtemp(join(tmpdir(), 's3cachefs-core-'))
  const faults = new FaultInjectingClient(store)
  const metrics = new RequestMetrics()
  const client = new MeteredClient(faults, metrics)
  const clock = { now: 1_000_000 }
  const disk = await DiskBlockCache.open({ dir: cacheDir, maxBytes: opts.cacheBytes ?? 1024 * MiB, maxPendingWrites: 1000 }, log)
  const queue = new FetchQueue({ concurrency: 8, inFlightBudgetBytes: 64 * MiB, maxQueuedPrefetch: 64 })
  const reader = new BlockReader({
    blockSize: MiB, partSize: 4 * MiB, wholeObjectMaxBytes: 4 * MiB, memoryCacheBytes: 16 * MiB, namespace: 'test',
    ...opts.reader,
  }, client, disk, queue, log)
  const metadata = new MetadataStore({
    ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 100_000, maxListedChildren: 100_000, ...opts.metadata,
  }, client, () => clock.now, log)
  const stagingLimits = opts.staging ?? { maxBytes: Number.POSITIVE_INFINITY, waitMs: 0 }
  const staging = new StagingStore(cacheDir, stagingLimits)
  await staging.init()
  const writes = new WriteBack({
    mode: opts.writeMode ?? 'sync', source: { bucket: 'test', prefix: '' }, uploadConcurrency: 8, uploadBufferBudgetBytes: 64 * MiB,
    backlog: { maxFiles: opts.backlogFiles ?? 1000, maxBytes: 1024 * MiB }, recoveredKeepMs: 7 * 24 * 3600_000,
    streamPartBytes: opts.streamPartBytes ?? 2 * MiB, staging: stagingLimits,
  }, staging, client, log)
  const core = new FilesystemCore({
    uid: 1000, gid: 1000, fileMode: 0o644, dirMode: 0o755, readOnly: opts.readOnly ?? false,
    fileReader: {
      readAhead: { initialWindowBytes: MiB, maxWindowBytes: 8 * MiB, stepBytes: 4 * MiB },
      randomReadsBeforeWholeFetch: 4, wholeFetchMaxBytes: (opts.cacheBytes ?? 1024 * MiB) / 4,
    },
    adoptMaxBytes: 64 * MiB,
    namespace: { renameDirMaxObjects: opts.renameDirMaxObjects ?? 1000 },
  }, metadata, reader, writes, client, log)
  const prefetcher = new ScanPrefetcher({
    distinctOpensToStart: 0, windowMs: 60_000, idleStopMs: 10_000, filesInFlight: 8, maxFileBytes: 64 * MiB, ...opts.prefetch,
  }, metadata, reader, { freeBytes: () => disk.freeBytes() }, log, () => clock.now)
  const announced = new AnnouncedOrder({ windowFiles: 16, windowBytes: 64 * MiB, concurrency: 8, maxPaths: 100_000 }, metadata, reader, log)
  core.openListener = (path, version) => {
    prefetcher.onOpen(path, version)
    announced.onOpen(path)
  }
  await writes.recover(key => '/' + key)
  const remounts: Harness[] = []
  const h: Harness = {
    store, faults, metrics, disk, reader, metadata, core, writes, prefetcher, announced, cacheDir, clock,
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
