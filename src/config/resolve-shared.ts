/**
 * The many-node flags of `mount` (`--shared-cache`, `--shared-cache-endpoint-url`,
 * `--shared-cache-max-object-size`, `--coordinator`), validated once, for
 * resolve-config.ts: the shared tier's client and tier configs, and the coordinator's.
 */
import type { SharedTierConfig } from '../cache/shared-tier.js'
import { parseCoordinatorUrl, type CoordinatorConfig } from '../coord/coordinator-config.js'
import { ConfigError } from '../errors.js'
import type { SdkClientConfig } from '../s3/sdk-object-client.js'
import * as D from './defaults.js'
import { parseS3Url, type S3Location } from './s3-url.js'
import { parseBytes } from './units.js'

export interface SharedOptions {
  sharedCache?: string
  sharedCacheEndpointUrl?: string
  sharedCacheMaxObjectSize?: string
  coordinator?: string
}

export interface SharedTierSetup {
  readonly location: S3Location
  readonly url: string
  /** The tier bucket's client: same credentials chain, its own endpoint, short deadlines. */
  readonly s3: SdkClientConfig
  readonly tier: SharedTierConfig
}

export function resolveSharedTier(o: SharedOptions, source: S3Location, sourceS3: SdkClientConfig, blockSize: number): SharedTierSetup | undefined {
  if (o.sharedCache === undefined) {
    for (const [flag, v] of [
      ['--shared-cache-endpoint-url', o.sharedCacheEndpointUrl],
      ['--shared-cache-max-object-size', o.sharedCacheMaxObjectSize],
    ] as const) {
      if (v !== undefined) throw new ConfigError(`${flag}: needs --shared-cache`)
    }
    return undefined
  }
  const location = parseS3Url(o.sharedCache)
  const endpointUrl = o.sharedCacheEndpointUrl ?? sourceS3.endpointUrl
  if (o.sharedCacheEndpointUrl !== undefined && !/^https?:\/\/[^/]+/.test(o.sharedCacheEndpointUrl)) {
    throw new ConfigError(`--shared-cache-endpoint-url: '${o.sharedCacheEndpointUrl}' is not an http(s) URL`)
  }
  if (location.bucket === source.bucket && (endpointUrl ?? '') === (sourceS3.endpointUrl ?? '')) {
    throw new ConfigError('--shared-cache: must not be the source bucket (use a dedicated bucket: anyone who can write the tier decides what readers see)')
  }
  const maxObjectBytes = parseBytes(o.sharedCacheMaxObjectSize ?? D.SHARED_CACHE_MAX_OBJECT_SIZE, '--shared-cache-max-object-size')
  return {
    location,
    url: o.sharedCache,
    s3: {
      ...sourceS3,
      bucket: location.bucket,
      ...(endpointUrl !== undefined ? { endpointUrl } : {}),
      forcePathStyle: sourceS3.forcePathStyle || endpointUrl !== undefined,
      maxAttempts: D.SHARED_TIER_MAX_ATTEMPTS,
      connectTimeoutMs: D.SHARED_TIER_CONNECT_TIMEOUT_MS,
      requestDeadlineMs: D.SHARED_TIER_TIMEOUT_MS,
    },
    tier: {
      sourceBucket: source.bucket,
      sourcePrefix: source.prefix,
      blockSize,
      maxObjectBytes,
      timeoutMs: D.SHARED_TIER_TIMEOUT_MS,
      readConcurrency: D.SHARED_TIER_READ_CONCURRENCY,
      writeConcurrency: D.SHARED_TIER_WRITE_CONCURRENCY,
      maxQueuedWrites: D.SHARED_TIER_MAX_QUEUED_WRITES,
      leaseMs: D.COORDINATOR_LEASE_MS,
      leasePollMs: D.COORDINATOR_LEASE_POLL_MS,
    },
  }
}

export function resolveCoordinator(o: SharedOptions): CoordinatorConfig | undefined {
  if (o.coordinator === undefined) return undefined
  parseCoordinatorUrl(o.coordinator)
  return {
    url: o.coordinator,
    commandTimeoutMs: D.COORDINATOR_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: D.COORDINATOR_CONNECT_TIMEOUT_MS,
    reconnectDelayMs: D.COORDINATOR_RECONNECT_MS,
    keyPrefix: D.COORDINATOR_KEY_PREFIX,
  }
}
