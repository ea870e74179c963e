/**
 * The first middleware of the local S3 server: it serves the control API,
 * counts every S3 request and applies armed faults, before s3rver (or our
 * fixes) see the request.
 *
 * Control API (JSON; the paths can never be S3 requests, because a bucket name
 * must start with a lower-case letter or a digit, never '_'):
 *   GET    /__s3cachefs/stats        → RequestStats
 *   POST   /__s3cachefs/stats/reset  → the RequestStats before the reset
 *   GET    /__s3cachefs/faults       → armed faults with their remaining counts
 *   POST   /__s3cachefs/faults       ← FaultSpec; 204, or 400 { error } naming the bad field
 *   DELETE /__s3cachefs/faults       → 204, every armed fault dropped
 * Control requests are not counted.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { KoaContext, KoaMiddleware } from 's3rver'
import { FaultInjector, FaultSpecError, parseFaultSpec, type FaultSpec } from './fault-injector.js'
import { RequestCounters, meterResponseBody } from './request-stats.js'
import { defaultErrorCode, sendS3Error } from './s3-xml.js'
import { classifyRequest, type S3RequestInfo } from './s3-request.js'

const CONTROL_PREFIX = '/__s3cachefs/'
const MAX_CONTROL_BODY_BYTES = 64 * 1024 // a fault spec is a few hundred bytes

export function controlMiddleware(counters: RequestCounters, faults: FaultInjector): KoaMiddleware {
  return async function s3cachefsControl(ctx, next) {
    if (ctx.path.startsWith(CONTROL_PREFIX)) {
      await handleControl(ctx, counters, faults)
      return
    }
    const request = classifyRequest(ctx.method, ctx.path, ctx.query, ctx.headers)
    counters.recordRequest(request.kind)
    watchResponse(ctx, request, counters)
    const fault = faults.take(request)
    if (fault !== undefined) {
      counters.recordFault()
      if (await applyFault(ctx, fault)) return
    }
    await next()
  }
}

function watchResponse(ctx: KoaContext, request: S3RequestInfo, counters: RequestCounters): void {
  const res = ctx.res
  // Node never sends a body on HEAD, even when s3rver's error handler writes one.
  if (request.method !== 'HEAD') meterResponseBody(res, bytes => counters.recordBytes(request.kind, bytes))
  res.once('close', () => counters.recordResponse(res.writableFinished ? String(res.statusCode) : 'aborted'))
}

/** Carries out a fault; true when it answered (or dropped) the request itself. */
async function applyFault(ctx: KoaContext, fault: FaultSpec): Promise<boolean> {
  if (fault.delayMs !== undefined) await sleep(fault.delayMs)
  if (fault.reset === 'connection') {
    ctx.respond = false // Koa must not try to write to the destroyed socket
    ctx.req.socket.destroy()
    return true
  }
  if (fault.status !== undefined) {
    ctx.req.resume() // read the upload to its end so the client gets the answer, not EPIPE
    sendS3Error(ctx, {
      status: fault.status,
      code: fault.code ?? defaultErrorCode(fault.status),
      message: fault.message ?? `Injected fault (status ${fault.status}).`,
    })
    return true
  }
  return false
}

async function handleControl(ctx: KoaContext, counters: RequestCounters, faults: FaultInjector): Promise<void> {
  const route = `${ctx.method} ${ctx.path.slice(CONTROL_PREFIX.length).replace(/\/+$/, '')}`
  switch (route) {
    case 'GET stats':
      return sendJson(ctx, 200, counters.snapshot())
    case 'POST stats/reset': {
      const before = counters.snapshot()
      counters.reset()
      return sendJson(ctx, 200, before)
    }
    case 'GET faults':
      return sendJson(ctx, 200, faults.list())
    case 'POST faults':
      return armFault(ctx, faults)
    case 'DELETE faults':
      faults.clear()
      ctx.status = 204
      return
    default:
      return sendJson(ctx, 404, { error: `no control endpoint ${route}` })
  }
}

async function armFault(ctx: KoaContext, faults: FaultInjector): Promise<void> {
  try {
    faults.arm(parseFaultSpec(JSON.parse(await readBody(ctx))))
    ctx.status = 204
  } catch (err) {
    const invalid = err instanceof FaultSpecError || err instanceof SyntaxError
    if (!invalid) throw err
    sendJson(ctx, 400, { error: err.message })
  }
}

async function readBody(ctx: KoaContext): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > MAX_CONTROL_BODY_BYTES) throw new FaultSpecError('fault: body too large')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function sendJson(ctx: KoaContext, status: number, value: unknown): void {
  ctx.status = status
  ctx.body = JSON.stringify(value)
  ctx.type = 'application/json'
}
