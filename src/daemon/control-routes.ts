/**
 * What the daemon answers on its control socket: one handler for every route
 * named in control-api.ts (the type makes a missing or extra route a compile error).
 * Handlers check their JSON bodies and answer ConfigError naming the flag.
 */
import type { IncomingMessage } from 'node:http'
import { ConfigError } from '../errors.js'
import type { CacheOps } from '../ops/cache-ops.js'
import type { LoadJobs } from '../ops/load-jobs.js'
import type { MetadataRefresher } from '../ops/metadata-refresher.js'
import type { AnnouncedOrders } from '../prefetch/announced-order.js'
import type { FlushReport } from '../write/write-back.js'
import { CONTROL_ROUTES, type ControlRouteName } from './control-api.js'
import { readJson, type Route } from './control-server.js'
import type { StatsSnapshot } from './stats-snapshot.js'

/** The operator side, built by build-ops.ts. */
export interface OpsServices {
  readonly loads: LoadJobs
  readonly cache: CacheOps
  readonly refresher: MetadataRefresher
  readonly defaultLoadConcurrency: number
}

export interface ControlServices extends OpsServices {
  readonly snapshot: () => StatsSnapshot
  readonly flush: (path: string) => Promise<FlushReport>
  readonly announced: AnnouncedOrders
}

const MAX_LOAD_CONCURRENCY = 1024

export function controlRoutes(s: ControlServices): Map<string, Route> {
  const routes: Record<ControlRouteName, Route> = {
    stats: async () => s.snapshot(),
    flush: async req => {
      const path = (await bodyOf(req)).path
      return s.flush(typeof path === 'string' && path !== '' ? path : '/')
    },
    load: async req => {
      const body = await bodyOf(req)
      const c = body.concurrency ?? s.defaultLoadConcurrency
      if (!Number.isInteger(c) || (c as number) < 1 || (c as number) > MAX_LOAD_CONCURRENCY) {
        throw new ConfigError(`--concurrency: must be a whole number from 1 to ${MAX_LOAD_CONCURRENCY}`)
      }
      return s.loads.start(pathsOf(body), c as number, shardOf(body.shared))
    },
    loads: async () => ({ jobs: s.loads.list() }),
    pin: async req => s.cache.pin(pathsOf(await bodyOf(req))),
    unpin: async req => s.cache.unpin(pathsOf(await bodyOf(req))),
    free: async req => {
      const body = await bodyOf(req)
      return s.cache.free(pathsOf(body), body.force === true)
    },
    ttl: async req => {
      const body = await bodyOf(req)
      const ttl = body.ttlMs
      if (ttl !== null && (typeof ttl !== 'number' || !(ttl > 0))) throw new ConfigError('ttl: the duration must be positive, or never')
      return s.cache.setTtl(pathOf(body.path), ttl)
    },
    refresh: async req => s.refresher.refresh(pathOf((await bodyOf(req)).path)),
    prefetch: async req => announce(s.announced, await bodyOf(req)),
  }
  return new Map(Object.entries(routes).map(([name, route]) => [CONTROL_ROUTES[name as ControlRouteName], route]))
}

/** `s3cachefs prefetch --list`: an announced order for a session. */
function announce(orders: AnnouncedOrders, body: Record<string, unknown>): unknown {
  const positive = (v: unknown, name: string): number | undefined => {
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${name}: must be a whole number from 1`)
    return v
  }
  const session = typeof body.session === 'string' && body.session !== '' ? body.session : 'default'
  return orders.announce(session, pathsOf(body), body.append === true, {
    files: positive(body.windowFiles, '--window-files'),
    bytes: positive(body.windowBytes, '--window-bytes'),
  })
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJson(req)
  if (typeof body !== 'object' || body === null) throw new ConfigError('control request: expected a JSON object')
  return body as Record<string, unknown>
}

function shardOf(v: unknown): { index: number; count: number } | undefined {
  if (v === undefined) return undefined
  const s = v as { index?: unknown; count?: unknown }
  const ok =
    typeof s === 'object' &&
    s !== null &&
    Number.isInteger(s.count) &&
    Number.isInteger(s.index) &&
    (s.count as number) >= 1 &&
    (s.index as number) >= 0 &&
    (s.index as number) < (s.count as number)
  if (!ok) throw new ConfigError('--shard: must be I/N with 1 ≤ I ≤ N')
  return { index: s.index as number, count: s.count as number }
}

function pathOf(p: unknown): string {
  if (typeof p !== 'string' || !p.startsWith('/')) throw new ConfigError('control request: paths are mount-relative and start with /')
  return p
}

function pathsOf(body: Record<string, unknown>): string[] {
  const paths = body.paths
  if (!Array.isArray(paths) || paths.length === 0) throw new ConfigError('control request: give at least one path')
  return paths.map(pathOf)
}
