/**
 * A synthetic S3 endpoint: one read-only bucket serving a SyntheticNamespace (generated
 * keys, sizes and bytes; nothing on disk) over plain node:http, so scale tests and the
 * benchmark measure the daemon, not the store (s3rver costs ~2 ms of CPU per GET here).
 *
 * Speaks what s3cachefs and the benchmark's peers use, as real S3 answers it:
 * HeadBucket, ListObjectsV2 (prefix, delimiter, max-keys, continuation-token,
 * start-after, encoding-type=url), ListObjects v1 (marker, NextMarker: rclone's and s3fs-fuse's listing), HeadObject and GetObject with a Range (`a-b`, `a-`,
 * `-n`; 416 for an unsatisfiable range or any range of a 0-byte object), If-Match (412)
 * and If-None-Match (304). Path-style addressing only; signatures are not checked. Any
 * write answers 501 NotImplemented. `latencyMs` delays every answer (a remote store's TTFB).
 *
 * `GET /__synthetic/stats` answers {requests by kind, cpuMicros: this process's CPU};
 * `POST /__synthetic/stats/reset` zeroes them. Agreement with the local S3 server for
 * the same objects is tested in test/synthetic-s3-server.test.ts.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { escapeXml } from './s3-xml.js'
import { SYNTHETIC_LAST_MODIFIED, SyntheticNamespace, type SyntheticNamespaceOptions } from './synthetic-namespace.js'

export interface SyntheticS3Options extends SyntheticNamespaceOptions {
  readonly bucket: string
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number
  /** Delay before every answer, in ms. Default 0. */
  readonly latencyMs?: number
  /** Serve this namespace (e.g. a SyntheticJpegNamespace) instead of one built from these options. */
  readonly namespace?: SyntheticNamespace
}

export type SyntheticRequestKind = 'list' | 'headObject' | 'getObject' | 'rangedGet' | 'headBucket' | 'other'

export interface SyntheticStats {
  readonly requests: Record<SyntheticRequestKind, number>
  /** User + system CPU of the server's process since start or the last reset, in µs. */
  readonly cpuMicros: number
  readonly bytesSent: number
}

export interface SyntheticS3Server {
  readonly endpoint: string
  readonly port: number
  readonly namespace: SyntheticNamespace
  stats(): SyntheticStats
  resetStats(): void
  stop(): Promise<void>
}

/** ListObjectsV2's page bound, as on S3. */
const MAX_KEYS = 1000
/** Idle keep-alive sockets stay open this long: clients reuse them (see local-s3-server-main.ts). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const LAST_MODIFIED_ISO = SYNTHETIC_LAST_MODIFIED.toISOString()
const LAST_MODIFIED_HTTP = SYNTHETIC_LAST_MODIFIED.toUTCString()

export async function startSyntheticS3Server(o: SyntheticS3Options): Promise<SyntheticS3Server> {
  const ns = o.namespace ?? new SyntheticNamespace(o)
  const zero = (): Record<SyntheticRequestKind, number> => ({ list: 0, headObject: 0, getObject: 0, rangedGet: 0, headBucket: 0, other: 0 })
  let requests = zero()
  let bytesSent = 0
  let cpuAt = process.cpuUsage()
  const stats = (): SyntheticStats => {
    const c = process.cpuUsage(cpuAt)
    return { requests: { ...requests }, cpuMicros: c.user + c.system, bytesSent }
  }
  const resetStats = () => {
    requests = zero()
    bytesSent = 0
    cpuAt = process.cpuUsage()
  }
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/__synthetic/stats') {
      if (req.method === 'POST') resetStats()
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats()))
    }
    const slash = url.pathname.indexOf('/', 1)
    const bucket = decodeURIComponent(slash < 0 ? url.pathname.slice(1) : url.pathname.slice(1, slash))
    const key = slash < 0 ? '' : decodeURIComponent(url.pathname.slice(slash + 1))
    if (bucket !== o.bucket) return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      requests.other++
      return sendError(res, 501, 'NotImplemented', 'The synthetic store is read-only')
    }
    if (key === '') {
      if (req.method === 'HEAD') {
        requests.headBucket++
        return void res.writeHead(200).end()
      }
      requests.list++
      return sendXml(res, listObjects(ns, o.bucket, url.searchParams))
    }
    serveObject(
      ns,
      key,
      req,
      res,
      kind => {
        requests[kind]++
      },
      n => {
        bytesSent += n
      },
    )
  }
  const server = http.createServer((req, res) => {
    req.resume()
    if (o.latencyMs === undefined || o.latencyMs <= 0) handle(req, res)
    else setTimeout(() => handle(req, res), o.latencyMs)
  })
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    namespace: ns,
    stats,
    resetStats,
    stop: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function serveObject(
  ns: SyntheticNamespace,
  key: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  count: (k: SyntheticRequestKind) => void,
  sent: (n: number) => void,
): void {
  const head = req.method === 'HEAD'
  const rangeHeader = req.headers.range
  count(head ? 'headObject' : rangeHeader !== undefined ? 'rangedGet' : 'getObject')
  const i = ns.indexOf(key)
  if (i < 0) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', head)
  const size = ns.size(i)
  const etag = ns.etag(i)
  const ifMatch = req.headers['if-match']
  if (
    ifMatch !== undefined &&
    ifMatch !== '*' &&
    !ifMatch
      .split(',')
      .map(s => s.trim())
      .includes(etag)
  ) {
    return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', head)
  }
  const headers: http.OutgoingHttpHeaders = {
    etag: etag,
    'last-modified': LAST_MODIFIED_HTTP,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
  }
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end()
  let start = 0
  let end = size
  let status = 200
  if (rangeHeader !== undefined && !head) {
    const range = parseRange(rangeHeader, size)
    if (range === 'invalid') {
      /* S3 ignores a malformed Range and sends the whole object */
    } else if (range === undefined) {
      res.setHeader('content-range', `bytes */${size}`)
      return sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable')
    } else {
      ;[start, end] = range
      status = 206
      headers['content-range'] = `bytes ${start}-${end - 1}/${size}`
    }
  }
  headers['content-length'] = end - start
  res.writeHead(status, headers)
  if (head) return void res.end()
  sent(end - start)
  for (const slice of ns.slices(i, start, end)) res.write(slice)
  res.end()
}

/** [start, end) of a `bytes=` range; undefined when unsatisfiable; 'invalid' when S3 would ignore it. */
function parseRange(text: string, size: number): [number, number] | undefined | 'invalid' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(text.trim())
  if (m === null || (m[1] === '' && m[2] === '')) return 'invalid'
  if (m[1] === '') {
    const n = Number(m[2])
    return n === 0 || size === 0 ? undefined : [Math.max(0, size - n), size]
  }
  const start = Number(m[1])
  if (m[2] !== '' && Number(m[2]) < start) return 'invalid'
  if (start >= size) return undefined
  const last = m[2] === '' ? size - 1 : Number(m[2])
  return [start, Math.min(last, size - 1) + 1]
}

/** ListObjectsV2 (`list-type=2`) or, without it, ListObjects v1, as S3 answers them. */
function listObjects(ns: SyntheticNamespace, bucket: string, q: URLSearchParams): string {
  const v2 = q.get('list-type') === '2'
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const maxKeys = Math.min(MAX_KEYS, Math.max(0, Number(q.get('max-keys') ?? MAX_KEYS) || 0))
  const token = v2 ? q.get('continuation-token') : null
  const startAfter = v2 ? (q.get('start-after') ?? '') : ''
  // v1's marker: keys after it; a marker that is a common prefix (a NextMarker) skips that prefix whole.
  const marker = v2 ? '' : (q.get('marker') ?? '')
  const url = q.get('encoding-type') === 'url'
  const enc = (s: string) => escapeXml(url ? encodeURIComponent(s).replace(/%2F/g, '/') : s)
  const after = token !== null ? Buffer.from(token, 'base64url').toString() : v2 ? startAfter : marker
  const page = ns.list(prefix, delimiter, after, maxKeys, token !== null || marker !== '')
  const contents = page.objects.map(
    i =>
      `<Contents><Key>${enc(ns.key(i))}</Key><LastModified>${LAST_MODIFIED_ISO}</LastModified>` +
      `<ETag>${escapeXml(ns.etag(i))}</ETag><Size>${ns.size(i)}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
  )
  const prefixes = page.prefixes.map(cp => `<CommonPrefixes><Prefix>${enc(cp)}</Prefix></CommonPrefixes>`)
  const truncated = page.last !== undefined
  const last = page.last ?? ''
  const paging = v2
    ? `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount>` +
      `${url ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>` +
      `${token !== null ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : ''}` +
      `${startAfter !== '' ? `<StartAfter>${enc(startAfter)}</StartAfter>` : ''}` +
      `${truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : ''}`
    : `<Marker>${enc(marker)}</Marker><MaxKeys>${maxKeys}</MaxKeys>${url ? '<EncodingType>url</EncodingType>' : ''}` +
      `<IsTruncated>${truncated}</IsTruncated>${truncated && delimiter !== '' ? `<NextMarker>${enc(last)}</NextMarker>` : ''}`
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${XMLNS}"><Name>${escapeXml(bucket)}</Name>` +
    `<Prefix>${enc(prefix)}</Prefix>${delimiter !== '' ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ''}` +
    paging +
    contents.join('') +
    prefixes.join('') +
    '</ListBucketResult>'
  )
}

function sendXml(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body)
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string, head = false): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': head ? 0 : Buffer.byteLength(body) })
  res.end(head ? undefined : body)
}
