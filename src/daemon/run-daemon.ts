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
import { buildObjectClient } from './build-object-client.js'
import { checkCacheDir, checkMountPoint, lockCacheDir } from './preflight.js'
import { ControlServer } from './control-server.js'
import { controlSocketPath, ensureRuntimeDir, removeDaemonRecord, writeDaemonRecord } from './runtime-state.js'
import { takeSnapshot } from './stats-snapshot.js'

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
  try {
    const { client, metrics } = buildObjectClient(config)
    await client.checkBucket()
    const disk = await DiskBlockCache.open(config.disk, log.child({ component: 'disk-cache' }))
    const queue = new FetchQueue(config.queue)
    const reader = new BlockReader(config.reader, client, disk, queue, log.child({ component: 'block-reader' }))
    const metadata = new MetadataStore(config.metadata, client, Date.now, log.child({ component: 'metadata' }))
    const core = new FilesystemCore(config.fs, metadata, reader, log.child({ component: 'fs' }))
    const startedMs = Date.now()
    const snapshot = () => takeSnapshot({ metrics, disk, reader, queue, core }, { mountPoint: config.mountPoint, source: config.sourceUrl, startedMs })
    await ensureRuntimeDir()
    control = new ControlServer(controlSocketPath(config.mountPoint), new Map([ControlServer.statsRoute(snapshot)]), log.child({ component: 'control' }))
    await control.start()
    mount = await mountFuse(config.fuse, core, log.child({ component: 'fuse' }))
    await writeDaemonRecord({
      pid: process.pid, mountPoint: config.mountPoint, source: config.sourceUrl,
      cacheDir: config.disk.dir, logFile: config.logFile, startedAt: new Date().toISOString(),
    })
    log.info({ source: config.sourceUrl, mountPoint: config.mountPoint, cacheDir: config.disk.dir }, 'mounted')
    return { stopped: waitForShutdown(log, async () => {
      await (mount as FuseMount).unmount()
      await (control as ControlServer).stop()
      await disk.drain()
      await removeDaemonRecord(config.mountPoint)
      await unlock()
    }) }
  } catch (err) {
    await mount?.unmount().catch(() => {})
    await control?.stop().catch(() => {})
    await unlock()
    throw err
  }
}

/** Resolves with the exit code after a signal (0) or a crash (1), once `cleanup` ran. */
function waitForShutdown(log: Logger, cleanup: () => Promise<void>): Promise<number> {
  return new Promise(resolve => {
    let stopping = false
    const stop = (code: number) => {
      if (stopping) return
      stopping = true
      cleanup().then(
        () => { log.info('unmounted'); resolve(code) },
        (err: unknown) => { log.error({ err }, 'unmount failed'); resolve(1) },
      )
    }
    process.on('SIGTERM', () => stop(0))
    process.on('SIGINT', () => stop(0))
    process.on('SIGHUP', () => stop(0))
    process.on('uncaughtException', err => { log.fatal({ err }, 'uncaught exception; unmounting'); stop(1) })
    process.on('unhandledRejection', err => { log.fatal({ err }, 'unhandled rejection; unmounting'); stop(1) })
  })
}
