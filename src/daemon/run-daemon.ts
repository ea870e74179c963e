/**
 * The daemon's composition root and lifecycle: checks the bucket and the cache,
 * builds the layers, mounts, records itself for `unmount`, and unmounts cleanly on
 * SIGTERM/SIGINT or on a crash (fatal log, mount released, non-zero exit).
 */
import type { Logger } from 'pino'
import { BlockReader } from '../cache/block-reader.js'
import { DiskBlockCache } from '../cache/disk-block-cache.js'
import { FetchQueue } from '../cache/fetch-queue.js'
import type { MountConfig } from '../config/resolve-config.js'
import { FilesystemCore } from '../fuse/filesystem-core.js'
import { type FuseMount, mountFuse } from '../fuse/fuse-adapter.js'
import { MetadataStore } from '../metadata/metadata-store.js'
import { PersistentListingManifest } from '../metadata/persistent-listing-manifest.js'
import { TieredListingManifest } from '../metadata/tiered-listing-manifest.js'
import { StagingStore } from '../write/staging-store.js'
import { WriteBack } from '../write/write-back.js'
import { ANNOUNCED_SESSIONS, SCAN_PREFETCH_CACHE_HEADROOM, SHUTDOWN_FLUSH_MS } from '../config/defaults.js'
import { ScanPrefetcher } from '../prefetch/scan-prefetcher.js'
import { AnnouncedOrder, AnnouncedOrders } from '../prefetch/announced-order.js'
import { buildObjectClient } from './build-object-client.js'
import { buildOps } from './build-ops.js'
import { buildManyNodes, type ManyNodes } from './build-many-nodes.js'
import { PrometheusExporter } from '../metrics/prometheus-exporter.js'
import { checkCacheDir, checkMountPoint } from './preflight.js'
import { lockCacheDir } from './cache-dir-lock.js'
import { watchMountGone } from './mount-watch.js'
import { ControlServer } from './control-server.js'
import { controlRoutes } from './control-routes.js'
import { controlSocketPath, ensureRuntimeDir, removeDaemonRecord, writeDaemonRecord } from './runtime-state.js'
import { type StatsSnapshot, takeSnapshot } from './stats-snapshot.js'

export interface RunningDaemon {
  /** Resolves with the exit code once the daemon has stopped. */
  readonly stopped: Promise<number>
}

export async function runDaemon(config: MountConfig, log: Logger): Promise<RunningDaemon> {
  await checkMountPoint(config.mountPoint)
  await checkCacheDir(config.disk.dir)
  const unlock = await lockCacheDir(config.disk.dir)
  let mount: FuseMount | undefined
  let control: ControlServer | undefined
  let stopOps: (() => Promise<void>) | undefined
  let many: ManyNodes | undefined
  let listings: PersistentListingManifest | undefined
  try {
    const { client, metrics } = buildObjectClient(config)
    const exporter = config.metrics.port === undefined ? undefined : new PrometheusExporter((): StatsSnapshot => snapshot())
    // With --metrics-port every S3 request also feeds the latency histogram.
    if (exporter !== undefined) metrics.observe(exporter.observe)
    await client.checkBucket()
    many = await buildManyNodes(config, log)
    const disk = await DiskBlockCache.open(config.disk, log.child({ component: 'disk-cache' }))
    const queue = new FetchQueue(config.queue)
    const reader = new BlockReader(config.reader, client, disk, queue, log.child({ component: 'block-reader' }), many.tier)
    listings = config.listings === undefined ? undefined : await PersistentListingManifest.open(config.listings, Date.now, log.child({ component: 'listings' }))
    const manifest = listings !== undefined && many.manifest !== undefined ? new TieredListingManifest(listings, many.manifest, config.metadata.ttlMs) : listings ?? many.manifest
    const metadata = new MetadataStore(config.metadata, client, Date.now, log.child({ component: 'metadata' }), manifest)
    const staging = new StagingStore(config.disk.dir)
    await staging.init()
    const writes = new WriteBack(config.write, staging, client, log.child({ component: 'write-back' }))
    const core = new FilesystemCore(config.fs, metadata, reader, writes, client, log.child({ component: 'fs' }))
    const prefetcher = new ScanPrefetcher(config.prefetch, metadata, reader, {
      freeBytes: () => disk.freeBytes() - disk.stats().maxBytes * SCAN_PREFETCH_CACHE_HEADROOM,
    }, log.child({ component: 'prefetch' }))
    const announced = new AnnouncedOrders(() => new AnnouncedOrder(config.announced, metadata, reader, log.child({ component: 'announced' })), ANNOUNCED_SESSIONS)
    core.openListener = (path, version) => {
      prefetcher.onOpen(path, version)
      announced.onOpen(path)
    }
    const recovered = await writes.recover(key => '/' + key)
    if (recovered > 0) log.warn({ files: recovered }, 'uploading files staged by an earlier daemon')
    const ops = buildOps(config, { metadata, reader, disk, exporter, log, tier: many.tier, queue, client })
    const startedMs = Date.now()
    const snapshot = (): StatsSnapshot => takeSnapshot({ metrics, disk, reader, queue, core, writes, metadata, prefetcher, announced, many: many as ManyNodes, ...(listings !== undefined ? { listings } : {}), ...ops.sources }, { mountPoint: config.mountPoint, source: config.sourceUrl, startedMs })
    await ensureRuntimeDir()
    control = new ControlServer(controlSocketPath(config.mountPoint),
      controlRoutes({ snapshot, flush: path => writes.flush(path), announced, ...ops.services }), log.child({ component: 'control' }))
    await control.start()
    stopOps = () => ops.stop()
    await ops.start()
    mount = await mountFuse(config.fuse, core, log.child({ component: 'fuse' }))
    await writeDaemonRecord({
      pid: process.pid, mountPoint: config.mountPoint, source: config.sourceUrl,
      cacheDir: config.disk.dir, logFile: config.logFile, startedAt: new Date().toISOString(),
    })
    log.info({ source: config.sourceUrl, mountPoint: config.mountPoint, cacheDir: config.disk.dir }, 'mounted')
    let releasedOutside = false
    const mounted = mount
    return { stopped: waitForShutdown(log, onStop => watchMountGone(config.mountPoint, () => {
      releasedOutside = true
      log.warn({ mountPoint: config.mountPoint }, 'the mount was released from outside; flushing and exiting')
      onStop()
    }), async () => {
      prefetcher.stop()
      await flushBounded(writes, log)
      // A mount released from outside is gone already: fusermount -u would only fail.
      if (!releasedOutside) await mounted.unmount()
      await flushBounded(writes, log)
      await (control as ControlServer).stop()
      await ops.stop()
      await (many as ManyNodes).stop()
      await listings?.close()
      await disk.close()
      await removeDaemonRecord(config.mountPoint)
      await unlock()
    }) }
  } catch (err) {
    await mount?.unmount().catch(() => {})
    await control?.stop().catch(() => {})
    await stopOps?.().catch(() => {})
    await many?.stop().catch(() => {})
    await listings?.close().catch(() => {})
    await unlock()
    throw err
  }
}

/** Uploads what is pending, for at most SHUTDOWN_FLUSH_MS; what fails stays staged for the next mount. */
async function flushBounded(writes: WriteBack, log: Logger): Promise<void> {
  const timer = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), SHUTDOWN_FLUSH_MS).unref())
  const result = await Promise.race([writes.flush('/'), timer])
  if (result === 'timeout') log.error('pending uploads did not finish before shutdown; they stay staged and upload at the next mount')
  else if (result.failed.length > 0) log.error({ failed: result.failed }, 'some uploads failed; they stay staged and upload at the next mount')
}

/**
 * Resolves with the exit code after a signal (0), the mount released from outside
 * (0, through `watch`) or a crash (1), once `cleanup` ran.
 */
function waitForShutdown(log: Logger, watch: (onStop: () => void) => () => void, cleanup: () => Promise<void>): Promise<number> {
  return new Promise(resolve => {
    let stopping = false
    const stop = (code: number) => {
      if (stopping) return
      stopping = true
      unwatch()
      cleanup().then(
        () => { log.info('unmounted'); resolve(code) },
        (err: unknown) => { log.error({ err }, 'unmount failed'); resolve(1) },
      )
    }
    const unwatch = watch(() => stop(0))
    process.on('SIGTERM', () => stop(0))
    process.on('SIGINT', () => stop(0))
    process.on('SIGHUP', () => stop(0))
    process.on('uncaughtException', err => { log.fatal({ err }, 'uncaught exception; unmounting'); stop(1) })
    process.on('unhandledRejection', err => { log.fatal({ err }, 'unhandled rejection; unmounting'); stop(1) })
  })
}
