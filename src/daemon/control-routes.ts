/**
 * Control-socket routes of the operator commands (issue 5), beside GET /stats:
 *
 *   POST /load    {paths, concurrency?, shared?: {index, count}} → LoadJobStatus (the job runs on)
 *   GET  /loads                         → {jobs: LoadJobStatus[]}
 *   POST /pin     {paths}               → PinReport
 *   POST /unpin   {paths}               → UnpinReport
 *   POST /free    {paths, force?}       → FreeReport
 *   POST /ttl     {path, ttlMs|null}    → TtlReport
 *   POST /refresh {path}                → RefreshReport
 *   POST /prefetch {session, paths, append?, windowFiles?, windowBytes?} → {files, windowFiles, windowBytes}
 *
 * Paths are mount-relative (`/train/n01`); the CLI turns filesystem paths into them.
 */
import type { IncomingMessage } from 'node:http'
import { ConfigError } from '../errors.js'
import type { CacheOps } from '../ops/cache-ops.js'
import type { LoadJobs } from '../ops/load-jobs.js'
import type { MetadataRefresher } from '../ops/metadata-refresher.js'
import type { AnnouncedOrders } from '../prefetch/announced-order.js'
import { readJson, type Route } from './control-server.js'

export interface OpsServices {
  readonly loads: LoadJobs
  readonly cache: CacheOps
  readonly refresher: MetadataRefresher
  readonly defaultLoadConcurrency: number
}

const MAX_LOAD_CONCURRENCY = 1024

export function opsRoutes(ops: OpsServices): Array<[string, Route]> {
  return [
    ['POST /load', async req => {
      const body = await bodyOf(req)
      const c = body.concurrency ?? ops.defaultLoadConcurrency
      if (!Number.isInteger(c) || (c as number) < 1 || (c as number) > MAX_LOAD_CONCURRENCY) {
        throw new ConfigError(`--concurrency: must be a whole number from 1 to ${MAX_LOAD_CONCURRENCY}`)
      }
      return ops.loads.start(pathsOf(body), c as number, shardOf(body.shared))
    }],
    ['GET /loads', async () => ({ jobs: ops.loads.list() })],
    ['POST /pin', async req => ops.cache.pin(pathsOf(await bodyOf(req)))],
    ['POST /unpin', async req => ops.cache.unpin(pathsOf(await bodyOf(req)))],
    ['POST /free', async req => {
      const body = await bodyOf(req)
      return ops.cache.free(pathsOf(body), body.force === true)
    }],
    ['POST /ttl', async req => {
      const body = await bodyOf(req)
      const ttl = body.ttlMs
      if (ttl !== null && (typeof ttl !== 'number' || !(ttl > 0))) throw new ConfigError('ttl: the duration must be positive, or never')
      return ops.cache.setTtl(pathOf(body.path), ttl)
    }],
    ['POST /refresh', async req => ops.refresher.refresh(pathOf((await bodyOf(req)).path))],
  ]
}

/** The announced-order route (`s3cachefs prefetch --list`). */
export function prefetchRoute(orders: AnnouncedOrders): [string, Route] {
  return ['POST /prefetch', async req => {
    const body = await bodyOf(req)
    const positive = (v: unknown, name: string): number | undefined => {
      if (v === undefined) return undefined
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${name}: must be a whole number from 1`)
      return v
    }
    const session = typeof body.session === 'string' && body.session !== '' ? body.session : 'default'
    return orders.announce(session, pathsOf(body), body.append === true, { files: positive(body.windowFiles, '--window-files'), bytes: positive(body.windowBytes, '--window-bytes') })
  }]
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJson(req)
  if (typeof body !== 'object' || body === null) throw new ConfigError('control request: expected a JSON object')
  return body as Record<string, unknown>
}

function shardOf(v: unknown): { index: number; count: number } | undefined {
  if (v === undefined) return undefined
  const s = v as { index?: unknown; count?: unknown }
  const ok = typeof s === 'object' && s !== null && Number.isInteger(s.count) && Number.isInteger(s.index) &&
    (s.count as number) >= 1 && (s.index as number) >= 0 && (s.index as number) < (s.count as number)
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
