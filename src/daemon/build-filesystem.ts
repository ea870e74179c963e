/**
 * The one composition root of the filesystem: from a config, an ObjectClient, a
 * logger and a clock it builds the layers below FUSE and wires them together —
 * disk cache, fetch queue and block reader; the listing manifest and the metadata
 * store; staging and write-back (staged files of an earlier run are recovered);
 * the filesystem core, whose namespace and attribute changes send their requests
 * through the fetch queue at foreground priority (s3/queued-client.ts); cross-file and announced prefetch, told of every open.
 * The daemon mounts what it returns (run-daemon.ts); core tests and the cache-ops
 * tests drive the same object without a mount (test/core/harness.ts).
 *
 * The client is composed beforehand (s3/client-stack.ts); the optional many-node
 * parts (build-many-nodes.ts) come in as dependencies.
 */
import type { Logger } from 'pino'
import { BlockReader } from '../cache/block-reader.js'
import { DiskBlockCache } from '../cache/disk-block-cache.js'
import { FetchQueue, PRIORITY_FOREGROUND } from '../cache/fetch-queue.js'
import { WholeObjects, type WholeObjectSource } from '../cache/whole-objects.js'
import type { SharedTier } from '../cache/shared-tier.js'
import { ANNOUNCED_SESSIONS, SCAN_PREFETCH_CACHE_HEADROOM } from '../config/defaults.js'
import type { MountConfig } from '../config/resolve-config.js'
import { FilesystemCore } from '../fuse/filesystem-core.js'
import { MetadataStore, type ListingManifest } from '../metadata/metadata-store.js'
import { PersistentListingManifest } from '../metadata/persistent-listing-manifest.js'
import { TieredListingManifest } from '../metadata/tiered-listing-manifest.js'
import { AnnouncedOrder, AnnouncedOrders } from '../prefetch/announced-order.js'
import { ScanPrefetcher } from '../prefetch/scan-prefetcher.js'
import type { ObjectClient } from '../s3/object-client.js'
import { QueuedClient } from '../s3/queued-client.js'
import { StagingStore } from '../write/staging-store.js'
import { WriteBack } from '../write/write-back.js'

/** The sub-configs of the layers built here (resolveMountConfig gives them; tests write their own). */
export type FilesystemSetup = Pick<MountConfig, 'disk' | 'queue' | 'reader' | 'metadata' | 'listings' | 'write' | 'fs' | 'prefetch' | 'announced'>

export interface FilesystemDeps {
  /** Every S3 request of the filesystem goes through this one client. */
  readonly client: ObjectClient
  readonly log: Logger
  /** Milliseconds since the epoch: metadata TTLs, listing expiry, prefetch windows, cache TTLs. */
  readonly clock: () => number
  /** --shared-cache: the second tier the reader consults before the origin. */
  readonly tier?: SharedTier | undefined
  /** --coordinator: the listing manifest other nodes share, behind the local one. */
  readonly sharedManifest?: ListingManifest | undefined
}

export interface Filesystem {
  readonly disk: DiskBlockCache
  readonly queue: FetchQueue
  readonly reader: BlockReader
  /** The listings kept beside the block cache; undefined with --no-persist-listings. */
  readonly listings: PersistentListingManifest | undefined
  readonly metadata: MetadataStore
  readonly writes: WriteBack
  readonly core: FilesystemCore
  readonly prefetcher: ScanPrefetcher
  readonly announced: AnnouncedOrders
  /** `--passthrough`: the whole-object copies the kernel reads; undefined when off. */
  readonly whole: WholeObjects | undefined
  /** Files staged by an earlier run and now uploading again. */
  readonly recovered: number
  /** Stops prefetch and closes the listing manifest and the disk cache (after its pending writes). */
  close(): Promise<void>
}

export async function buildFilesystem(config: FilesystemSetup, deps: FilesystemDeps): Promise<Filesystem> {
  const { client, log, clock } = deps
  const disk = await DiskBlockCache.open({ ...config.disk, clock }, log.child({ component: 'disk-cache' }))
  const queue = new FetchQueue(config.queue)
  const reader = new BlockReader({ ...config.reader, clock }, client, disk, queue, log.child({ component: 'block-reader' }), deps.tier)
  const listings =
    config.listings === undefined ? undefined : await PersistentListingManifest.open(config.listings, clock, log.child({ component: 'listings' }))
  const shared = deps.sharedManifest
  const manifest = listings !== undefined && shared !== undefined ? new TieredListingManifest(listings, shared, config.metadata.ttlMs) : (listings ?? shared)
  const metadata = new MetadataStore(config.metadata, client, clock, log.child({ component: 'metadata' }), manifest)
  const staging = new StagingStore(config.disk.dir, config.write.staging)
  await staging.init()
  const writes = new WriteBack(config.write, staging, client, log.child({ component: 'write-back' }))
  // Namespace and attribute changes (the core's own requests) wait in the reads' bounded queue, at foreground priority.
  const changes = new QueuedClient(client, queue, PRIORITY_FOREGROUND)
  const core = new FilesystemCore(config.fs, metadata, reader, writes, changes, log.child({ component: 'fs' }))
  const whole =
    config.fs.passthrough === undefined
      ? undefined
      : new WholeObjects(config.fs.passthrough, wholeObjectSource(reader), log.child({ component: 'whole-objects' }))
  if (whole !== undefined) {
    await whole.open()
    // Freed or expired blocks take their object's copy with them.
    reader.onDrop(objectId => whole.drop(objectId))
  }
  // Prefetch never evicts: it fills the free room less a headroom kept for what readers fetch.
  const room = { freeBytes: () => disk.freeBytes() - disk.stats().maxBytes * SCAN_PREFETCH_CACHE_HEADROOM }
  const prefetcher = new ScanPrefetcher(config.prefetch, metadata, reader, room, log.child({ component: 'prefetch' }), clock)
  const announced = new AnnouncedOrders(() => new AnnouncedOrder(config.announced, metadata, reader, log.child({ component: 'announced' })), ANNOUNCED_SESSIONS)
  core.openListener = (path, version, isCached) => {
    prefetcher.onOpen(path, version, isCached)
    announced.onOpen(path)
  }
  // An announced order moves its window with each open: while one is followed, opens are the core's to answer.
  core.opensWatched = () => announced.following
  announced.onAnnounce = () => core.forgetPublishedOpens()
  const recovered = await writes.recover(key => '/' + key)
  return {
    disk,
    queue,
    reader,
    listings,
    metadata,
    writes,
    core,
    prefetcher,
    announced,
    whole,
    recovered,
    async close() {
      prefetcher.stop()
      await whole?.close()
      await listings?.close()
      await disk.close()
    },
  }
}

/** The block cache as the source of whole-object copies. */
function wholeObjectSource(reader: BlockReader): WholeObjectSource {
  return {
    objectId: obj => reader.objectId(obj),
    onDiskFor: obj => reader.directReadPrefix(obj, false)?.forMs,
    readBlockFromDisk: (obj, index, target) => reader.readBlockFromDisk(obj, index, target),
    blockSize: reader.blockSize,
  }
}
