/**
 * Composes the ObjectClient stack used by the daemon, in one place:
 * SDK client → request metrics → prefix scoping.
 */
import type { Logger } from 'pino'
import type { MountConfig } from '../config/resolve-config.js'
import { MeteredClient } from '../s3/metered-client.js'
import type { ObjectClient } from '../s3/object-client.js'
import { PrefixClient } from '../s3/prefix-client.js'
import { RequestMetrics } from '../s3/request-metrics.js'
import { SdkObjectClient } from '../s3/sdk-object-client.js'

export interface ObjectClientStack {
  /** Scoped to the mount's prefix: what the filesystem uses. */
  readonly client: ObjectClient
  readonly metrics: RequestMetrics
}

export function buildObjectClient(config: MountConfig, log?: Logger): ObjectClientStack {
  const metrics = new RequestMetrics()
  let warned = false
  const sdk = new SdkObjectClient(config.s3, ({ key, method, ok }) => {
    metrics.checked(ok)
    if (ok || warned) return
    warned = true // once per mount; `stats` counts them all (s3.integrity.corrupt)
    log?.warn({ key, method }, 'a response body failed the store\'s checksum: retried, never cached (further ones are only counted)')
  })
  const metered = new MeteredClient(sdk, metrics)
  const client = config.source.prefix === '' ? metered : new PrefixClient(metered, config.source.prefix)
  return { client, metrics }
}
