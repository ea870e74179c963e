/**
 * The one place ObjectClient wrappers are composed, for every client s3cachefs
 * makes (the mount's store, the shared tier, the in-memory store of core tests):
 *
 *   store → fault injection (tests only) → request metrics → prefix scoping
 *
 * Metrics sit below the prefix so they count exactly the requests that reach the
 * store, and measure each one once (the Prometheus histogram observes them there).
 */
import type { Logger } from 'pino'
import { FaultInjectingClient } from './fault-injecting-client.js'
import { MeteredClient } from './metered-client.js'
import type { ObjectClient } from './object-client.js'
import { PrefixClient } from './prefix-client.js'
import { RequestMetrics } from './request-metrics.js'
import type { IntegrityListener } from './get-pieces.js'

export interface ClientStackOptions {
  /** Key prefix the client is scoped to ('' or absent: the whole bucket). */
  readonly prefix?: string
  /** Put a FaultInjectingClient right above the store (core tests). */
  readonly injectFaults?: boolean
}

export interface ClientStack {
  /** What the layers above use. */
  readonly client: ObjectClient
  readonly metrics: RequestMetrics
  /** Present with `injectFaults`. */
  readonly faults: FaultInjectingClient | undefined
}

export function composeClient(store: ObjectClient, opts: ClientStackOptions = {}): ClientStack {
  const faults = opts.injectFaults === true ? new FaultInjectingClient(store) : undefined
  const metrics = new RequestMetrics()
  const metered = new MeteredClient(faults ?? store, metrics)
  const prefix = opts.prefix ?? ''
  return { client: prefix === '' ? metered : new PrefixClient(metered, prefix), metrics, faults }
}

/** The store client's body checks (get-pieces.ts) counted in `metrics`; the first corrupt body of the mount logged. */
export function reportIntegrity(metrics: RequestMetrics, log: Logger): IntegrityListener {
  let warned = false
  return ({ key, method, ok }) => {
    metrics.checked(ok)
    if (ok || warned) return
    warned = true // once per mount; `stats` counts them all (s3.integrity.corrupt)
    log.warn({ key, method }, "a response body failed the store's checksum: retried, never cached (further ones are only counted)")
  }
}
