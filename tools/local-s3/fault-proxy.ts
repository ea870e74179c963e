/**
 * A fault-injecting HTTP proxy for tests, in front of the local S3 server (or any
 * S3 endpoint): the daemon is mounted with `--endpoint-url` pointing here, and the
 * test arms faults by request kind, key prefix, probability or count — the same
 * matching as the server's own fault switch (fault-injector.ts), plus what only a
 * proxy between the two can do to a response that the server really sent:
 *
 *  - `status` / `reset: 'connection'` / `delayMs`: as in the server (an S3 XML
 *    error, a reset before any header, a stall before forwarding);
 *  - `body: 'reset'`: the headers and half the body, then a TCP reset;
 *  - `body: 'short'`: the headers (Content-Length unchanged) and half the body,
 *    then a clean close: a body shorter than promised;
 *  - `body: 'corrupt'`: the whole body with one bit flipped in its middle byte (length,
 *    headers and ETag unchanged): corrupted in transfer, caught only by a checksum;
 *  - `otherVersion: true`: the response of another version — a different ETag and
 *    different bytes — as a store that ignores If-Match gives after an overwrite.
 *
 * Runs in the test process (it serves HTTP, never a mount). Bodies are buffered:
 * test objects are small. Counts what it forwarded and what it faulted.
 */
import { once } from 'node:events'
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { FaultInjector, type FaultSpec } from './fault-injector.js'
import { defaultErrorCode, errorXml } from './s3-xml.js'
import { classifyRequest } from './s3-request.js'

export interface ProxyFaultSpec extends FaultSpec {
  /**
   * Cut the response body after half its bytes: 'reset' (TCP RST) or 'short' (clean close);
   * or 'corrupt': send it whole with bit 0 of its middle byte flipped (`corruptBody`).
   */
  body?: 'reset' | 'short' | 'corrupt'
  /** Answer with another version's ETag and bytes (every byte inverted). */
  otherVersion?: boolean
}

export interface FaultProxyStats {
  readonly forwarded: number
  readonly faulted: number
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string
  arm(spec: ProxyFaultSpec): void
  clear(): void
  stats(): FaultProxyStats
  stop(): Promise<void>
}

/** An ETag no real object of the tests has. */
export const OTHER_VERSION_ETAG = '"00000000000000000000000000000bad"'

/** What a `body: 'corrupt'` fault sends for `body`: a copy with bit 0 of byte `length >> 1` flipped. */
export function corruptBody(body: Buffer): Buffer {
  const out = Buffer.from(body)
  if (out.length > 0) out[out.length >> 1] = (out[out.length >> 1] as number) ^ 0x01
  return out
}

/** Starts the proxy on 127.0.0.1:0 in front of `upstream` (`http://host:port`). */
export async function startFaultProxy(upstream: string, random: () => number = Math.random): Promise<FaultProxy> {
  const target = new URL(upstream)
  const faults = new FaultInjector<ProxyFaultSpec>(random)
  const sockets = new Set<Socket>()
  let forwarded = 0
  let faulted = 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const info = classifyRequest(req.method ?? 'GET', url.pathname, Object.fromEntries(url.searchParams), req.headers)
    const fault = faults.take(info)
    if (fault !== undefined) faulted++
    else forwarded++
    handle(req, res, target, fault).catch(() => req.socket.destroy())
  })
  server.on('connection', s => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arm: spec => faults.arm(spec),
    clear: () => faults.clear(),
    stats: () => ({ forwarded, faulted }),
    stop: async () => {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close').catch(() => undefined)
    },
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, target: URL, fault: ProxyFaultSpec | undefined): Promise<void> {
  if (fault?.delayMs !== undefined) await sleep(fault.delayMs)
  if (fault?.reset === 'connection') {
    req.socket.resetAndDestroy()
    return
  }
  const body = await readAll(req)
  if (fault?.status !== undefined) {
    const xml = errorXml({
      status: fault.status,
      code: fault.code ?? defaultErrorCode(fault.status),
      message: fault.message ?? `Injected fault (status ${fault.status}).`,
    })
    res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) })
    res.end(req.method === 'HEAD' ? undefined : xml)
    return
  }
  const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers })
  up.end(body)
  const [upRes] = (await once(up, 'response')) as [IncomingMessage]
  let data = await readAll(upRes)
  const headers = { ...upRes.headers }
  const ok = (upRes.statusCode ?? 500) < 300
  if (ok && fault?.otherVersion === true) {
    headers.etag = OTHER_VERSION_ETAG
    data = Buffer.from(data.map(b => b ^ 0xff))
  }
  if (ok && fault?.body === 'corrupt') data = corruptBody(data)
  res.writeHead(upRes.statusCode ?? 502, headers)
  if (!ok || fault?.body === undefined || fault.body === 'corrupt' || data.length < 2) {
    res.end(data)
    return
  }
  // Half the body, flushed, then the connection ends short of Content-Length.
  res.write(data.subarray(0, Math.floor(data.length / 2)), () => {
    if (fault.body === 'reset') res.socket?.resetAndDestroy()
    else res.socket?.end()
  })
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
