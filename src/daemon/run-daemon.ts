/**
 * The daemon's composition root and lifecycle: checks the bucket and the cache,
 * builds the layers, mounts, records itself for `unmount`, and unmounts cleanly on
 * SIGTERM/SIGINT or on a crash (fatal log, mount released, non-zero exit).
 */
import type { BlockFileListener } from '../cache/open-block-files.js'
import type { Logger } from 'pino'
import type { MountConfig } from '../config/resolve-config.js'
import { type FuseMount, mountFuse, useBindingCrc32 } from '../fuse/fuse-adapter.js'
import type { WriteBack } from '../write/write-back.js'
import { SHUTDOWN_FLUSH_MS } from '../config/defaults.js'
import { composeClient, reportIntegrity } from '../s3/client-stack.js'
import { SdkObjectClient } from '../s3/sdk-object-client.js'
import type { IntegrityListener } from '../s3/get-pieces.js'
import { buildFilesystem, type Filesystem } from './build-filesystem.js'
import { buildOps } from './build-ops.js'
import { buildManyNodes, type ManyNodes } from './build-many-nodes.js'
import { checkCacheDir, checkMountPoint } from './preflight.js'
import { lockCacheDir } from './cache-dir-lock.js'
import { watchMountGone } from './mount-watch.js'
import { unmountBounded } from './bounded-unmount.js'
import { LATE, within } from '../util/within.js'
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
  useBindingCrc32(log)
  let mount: FuseMount | undefined
  let control: ControlServer | undefined
  let stopOps: (() => Promise<void>) | undefined
  let many: ManyNodes | undefined
  let fs: Filesystem | undefined
  try {
    let onChecked: IntegrityListener = () => {}
    const { client, metrics } = composeClient(new SdkObjectClient(config.s3, e => onChecked(e)), { prefix: config.source.prefix })
    onChecked = reportIntegrity(metrics, log)
    // prom-client is loaded only with --metrics-port.
    const exporter =
      config.metrics.port === undefined
        ? undefined
        : new (await import('../metrics/prometheus-exporter.js')).PrometheusExporter((): StatsSnapshot => snapshot())
    // With --metrics-port every S3 request also feeds the latency histogram.
    if (exporter !== undefined) metrics.observe(exporter.observe)
    await client.checkBucket()
    many = await buildManyNodes(config, log)
    fs = await buildFilesystem(config, { client, log, clock: Date.now, tier: many.tier, sharedManifest: many.manifest })
    const { disk, queue, reader, listings, metadata, writes, core, prefetcher, announced, whole } = fs
    if (fs.recovered > 0) log.warn({ files: fs.recovered }, 'uploading files staged by an earlier daemon')
    const ops = buildOps(config, { metadata, reader, disk, exporter, log, tier: many.tier, queue, client })
    const startedMs = Date.now()
    const snapshot = (): StatsSnapshot =>
      takeSnapshot(
        {
          metrics,
          disk,
          reader,
          queue,
          core,
          writes,
          metadata,
          prefetcher,
          announced,
          many: many as ManyNodes,
          ...(listings !== undefined ? { listings } : {}),
          fuseThreads: () => mount?.threadStates(),
          fuseOps: () => mount?.opCounts(),
          passthrough: () => mount?.passthroughStats(),
          ...(whole !== undefined ? { whole } : {}),
          ...ops.sources,
        },
        { mountPoint: config.mountPoint, source: config.sourceUrl, startedMs },
      )
    await ensureRuntimeDir()
    control = new ControlServer(
      controlSocketPath(config.mountPoint),
      controlRoutes({ snapshot, flush: path => writes.flush(path), announced, ...ops.services }),
      log.child({ component: 'control' }),
    )
    await control.start()
    stopOps = () => ops.stop()
    await ops.start()
    const useBlockFiles = (listener: BlockFileListener): void => {
      disk.blockFileListener = listener
      // Fetched blocks in memory the binding can write past the page cache.
      if (listener.allocBlock !== undefined) reader.useBlockAllocator(listener.allocBlock)
    }
    mount = await mountFuse(config.fuse, core, log.child({ component: 'fuse' }), useBlockFiles, whole)
    await writeDaemonRecord({
      pid: process.pid,
      mountPoint: config.mountPoint,
      source: config.sourceUrl,
      cacheDir: config.disk.dir,
      logFile: config.logFile,
      startedAt: new Date().toISOString(),
    })
    log.info({ source: config.sourceUrl, mountPoint: config.mountPoint, cacheDir: config.disk.dir }, 'mounted')
    let releasedOutside = false
    const mounted = mount
    return {
      stopped: waitForShutdown(
        log,
        onStop =>
          watchMountGone(config.mountPoint, () => {
            releasedOutside = true
            log.warn({ mountPoint: config.mountPoint }, 'the mount was released from outside; flushing and exiting')
            onStop()
          }),
        async () => {
          log.info({ releasedOutside }, 'stopping: uploading pending writes, then unmounting')
          prefetcher.stop()
          await flushBounded(writes, log)
          // A mount released from outside is gone already: fusermount -u would only fail.
          if (!releasedOutside) await unmountBounded(() => mounted.unmount(), log)
          await flushBounded(writes, log)
          await (control as ControlServer).stop()
          await ops.stop()
          await (many as ManyNodes).stop()
          await (fs as Filesystem).close()
          await removeDaemonRecord(config.mountPoint)
          await unlock()
        },
      ),
    }
  } catch (err) {
    await mount?.unmount().catch(() => {})
    await control?.stop().catch(() => {})
    await stopOps?.().catch(() => {})
    await many?.stop().catch(() => {})
    await fs?.listings?.close().catch(() => {})
    await unlock()
    throw err
  }
}

/** Uploads what is pending, for at most SHUTDOWN_FLUSH_MS; what fails stays staged for the next mount. */
async function flushBounded(writes: WriteBack, log: Logger): Promise<void> {
  const result = await within(writes.flush('/'), SHUTDOWN_FLUSH_MS)
  if (result === LATE) log.error('pending uploads did not finish before shutdown; they stay staged and upload at the next mount')
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
        () => {
          log.info('unmounted')
          resolve(code)
        },
        (err: unknown) => {
          log.error({ err }, 'unmount failed')
          resolve(1)
        },
      )
    }
    const unwatch = watch(() => stop(0))
    process.on('SIGTERM', () => stop(0))
    process.on('SIGINT', () => stop(0))
    process.on('SIGHUP', () => stop(0))
    process.on('uncaughtException', err => {
      log.fatal({ err }, 'uncaught exception; unmounting')
      stop(1)
    })
    process.on('unhandledRejection', err => {
      log.fatal({ err }, 'unhandled rejection; unmounting')
      stop(1)
    })
  })
}
