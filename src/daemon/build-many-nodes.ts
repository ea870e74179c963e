/**
 * Builds the many-node side of the daemon (issue 13) in one place: the shared tier
 * (`--shared-cache`, its own ObjectClient stack from client-stack.ts: SDK → request metrics → prefix) and
 * the coordinator (`--coordinator`: Redis block leases and the listing manifest).
 * Neither can stop a mount: an unreachable tier or Redis is one warning line each,
 * and every later failure is a miss (see shared-tier.ts, redis-coordinator.ts).
 */
import type { Logger } from 'pino'
import { SharedTier, type SharedTierStats } from '../cache/shared-tier.js'
import type { MountConfig } from '../config/resolve-config.js'
import type { CoordinatorStats } from '../coord/redis-coordinator.js'
import { SharedListingManifest, type ManifestStats } from '../coord/shared-listing-manifest.js'
import { composeClient } from '../s3/client-stack.js'
import type { RequestMetrics, RequestMetricsSnapshot } from '../s3/request-metrics.js'
import { SdkObjectClient } from '../s3/sdk-object-client.js'

export interface ManyNodesStats {
  /** Present with --shared-cache: hits, misses, errors, bytes, writes, and the requests sent to the tier. */
  readonly sharedTier?: SharedTierStats & { readonly url: string; readonly requests: RequestMetricsSnapshot }
  /** Present with --coordinator. */
  readonly coordinator?: CoordinatorStats & { readonly manifest: ManifestStats }
}

export interface ManyNodes {
  readonly tier: SharedTier | undefined
  readonly manifest: SharedListingManifest | undefined
  stats(): ManyNodesStats
  stop(): Promise<void>
}

export async function buildManyNodes(config: MountConfig, log: Logger): Promise<ManyNodes> {
  // ioredis is loaded only by mounts that use it (a third of a second of every start otherwise).
  const coordinator =
    config.coordinator === undefined
      ? undefined
      : new (await import('../coord/redis-coordinator.js')).RedisCoordinator(config.coordinator, log.child({ component: 'coordinator' }))
  await coordinator?.start()
  const manifest = coordinator === undefined ? undefined : new SharedListingManifest(coordinator, config.reader.namespace, log.child({ component: 'manifest' }))
  const shared = config.shared
  let tier: SharedTier | undefined
  let tierMetrics: RequestMetrics | undefined
  if (shared !== undefined) {
    const stack = composeClient(new SdkObjectClient(shared.s3), { prefix: shared.location.prefix })
    tierMetrics = stack.metrics
    tier = new SharedTier(shared.tier, stack.client, coordinator, log.child({ component: 'shared-tier' }))
    await tier.probe()
  }
  return {
    tier,
    manifest,
    stats: () => ({
      ...(tier !== undefined && shared !== undefined && tierMetrics !== undefined
        ? { sharedTier: { url: shared.url, ...tier.stats(), requests: tierMetrics.snapshot() } }
        : {}),
      ...(coordinator !== undefined && manifest !== undefined ? { coordinator: { ...coordinator.stats(), manifest: manifest.stats() } } : {}),
    }),
    async stop() {
      await tier?.drain()
      await coordinator?.close()
    },
  }
}
