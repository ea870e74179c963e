/**
 * Builds the operator side of the daemon (issue 5) in one place: load jobs,
 * pin/free/ttl, metadata refresh and its periodic sync, and the Prometheus
 * endpoint; hands run-daemon the services its control routes call, their stats sources and one
 * start/stop pair.
 */
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import type { MountConfig } from '../config/resolve-config.js'
import { ConfigError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import type { PrometheusExporter } from '../metrics/prometheus-exporter.js'
import { CacheOps } from '../ops/cache-ops.js'
import { LoadJobs } from '../ops/load-jobs.js'
import { TierWarmer } from '../ops/tier-warmer.js'
import type { SharedTier } from '../cache/shared-tier.js'
import type { FetchQueue } from '../cache/fetch-queue.js'
import type { ObjectClient } from '../s3/object-client.js'
import { MetadataRefresher } from '../ops/metadata-refresher.js'
import type { OpsServices } from './control-routes.js'
import type { StatsSources } from './stats-snapshot.js'

export interface OpsDeps {
  readonly metadata: MetadataStore
  readonly reader: BlockReader
  readonly disk: DiskBlockCache
  readonly log: Logger
  /** Present with --metrics-port. */
  readonly exporter: PrometheusExporter | undefined
  /** With --shared-cache: `load --shared` warms it, through the reads' queue and the origin client. */
  readonly tier?: SharedTier | undefined
  readonly queue?: FetchQueue
  readonly client?: ObjectClient
}

export interface Ops {
  readonly services: OpsServices
  readonly sources: Pick<StatsSources, 'loads' | 'pins' | 'metricsUrl'>
  start(): Promise<void>
  stop(): Promise<void>
}

export function buildOps(config: MountConfig, d: OpsDeps): Ops {
  const c = config.ops
  const warmer =
    d.tier === undefined || d.queue === undefined || d.client === undefined || config.shared === undefined
      ? undefined
      : new TierWarmer(d.tier, d.client, d.queue, config.reader.blockSize, config.reader.partSize, config.shared.tier.maxObjectBytes)
  const loads = new LoadJobs(
    { listConcurrency: c.loadListConcurrency, jobsKept: c.loadJobsKept },
    d.metadata,
    d.reader,
    d.disk,
    d.log.child({ component: 'load' }),
    warmer,
  )
  const cache = new CacheOps(d.metadata, d.disk, c.loadListConcurrency, d.log.child({ component: 'cache-ops' }))
  const refresher = new MetadataRefresher(d.metadata, c.refreshConcurrency, d.log.child({ component: 'metadata-sync' }))
  let metricsUrl: string | undefined
  return {
    services: { loads, cache, refresher, defaultLoadConcurrency: c.loadConcurrency },
    sources: { loads, pins: () => cache.pins(), metricsUrl: () => metricsUrl },
    async start() {
      refresher.startPeriodic(c.metadataSyncIntervalMs)
      if (d.exporter === undefined || config.metrics.port === undefined) return
      try {
        metricsUrl = await d.exporter.start(config.metrics.host, config.metrics.port)
      } catch (err) {
        throw new ConfigError(
          `--metrics-port ${config.metrics.port}: cannot listen on ${config.metrics.host} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        )
      }
      d.log.info({ metricsUrl }, 'serving Prometheus metrics')
    },
    async stop() {
      refresher.stop()
      await d.exporter?.stop()
    },
  }
}
