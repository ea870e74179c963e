/**
 * The lean GET's own HTTP/1.1 reader (wire-get.ts, wire-pool.ts) against a raw TCP
 * server that writes exact bytes: a body read straight into pieces however the bytes
 * are split (one byte at a time, head and body in one write), kept-alive connections
 * reused and `Connection: close` honoured, and every answer it does not read (no
 * Content-Length, chunked, a head over its scratch buffer, a failure before the head)
 * answered `undefined` so the caller sends the request another way; a body cut short
 * or cancelled rejects.
 */
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import t from 'tap'
import { PieceWriter } from '../../src/s3/piece-writer.js'
import { wireGet, type WireResponse } from '../../src/s3/wire-get.js'
import { WirePool } from '../../src/s3/wire-pool.js'

type Respond = (socket: Socket, request: string, n: number) => void

interface Stub {
  readonly port: number
  /** Connections the server accepted. */
  connections: number
  close(): Promise<void>
}

const CERT = readFileSync(join(import.meta.dirname, 'fixtures/localhost-cert.pem'))
const KEY = readFileSync(join(import.meta.dirname, 'fixtures/localhost-key.pem'))

/** A server (TLS with the fixture certificate if `tls`) that hands each complete request head (and its number, from 1) to `respond`. */
async function stub(respond: Respond, tls = false): Promise<Stub> {
  let n = 0
  const sockets = new Set<Socket>()
  const state = { connections: 0 }
  const onConnection = (socket: Socket): void => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = ''
    socket.on('data', chunk => {
      pending += chunk.toString('latin1')
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end)
        pending = pending.slice(end + 4)
        respond(socket, head, ++n)
      }
    })
  }
  const server: Server = tls ? createTlsServer({ cert: CERT, key: KEY }, onConnection) : createServer(onConnection)
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise(r => server.close(r))
    },
  }
}

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff))

function head(status: number, headers: Record<string, string | number>): string {
  return `HTTP/1.1 ${status} X\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`
}

async function get(pool: WirePool, port: number, signal = new AbortController().signal, protocol = 'http:'): Promise<WireResponse | undefined> {
  return wireGet(pool, { protocol, hostname: 'localhost', port, path: '/b/k', headers: { host: `localhost:${port}` } }, signal)
}

/** Reads a response's body into 64 KiB pieces; returns the bytes and the spans `onBytes` heard of (which must cover every byte once). */
async function readAll(res: WireResponse): Promise<{ bytes: Buffer; spans: number }> {
  const writer = PieceWriter.forLength(res.contentLength, 64 * 1024)
  let spans = 0
  let heard = 0
  await res.read(writer, span => {
    spans++
    heard += span.length
  })
  if (heard !== res.contentLength) throw new Error(`onBytes heard of ${heard} bytes, not ${res.contentLength}`)
  return { bytes: Buffer.concat(writer.pieces), spans }
}

t.test('a body split any way lands byte-exact in the pieces; the connection is reused', async t => {
  const server = await stub((socket, _req, n) => {
    const whole = Buffer.concat([Buffer.from(head(206, { 'content-length': body.length, etag: '"e1"' })), body])
    if (n === 1) {
      socket.write(whole) // head and body in one write
      return
    }
    // One byte at a time for the first 40 KiB (across the head and into the body), then the rest.
    let at = 0
    const drip = (): void => {
      if (at >= 40 * 1024) return void socket.write(whole.subarray(at))
      socket.write(whole.subarray(at, at + 1))
      at++
      setImmediate(drip)
    }
    drip()
  })
  t.teardown(() => server.close())
  const pool = new WirePool(4, 2000)
  t.teardown(() => pool.close())
  for (const round of [1, 2]) {
    const res = await get(pool, server.port)
    t.ok(res !== undefined, `round ${round}: answered`)
    if (res === undefined) return
    t.equal(res.status, 206)
    t.equal(res.headers.get('etag'), '"e1"')
    const { bytes } = await readAll(res)
    t.ok(bytes.equals(body), `round ${round}: byte-exact`)
  }
  t.equal(server.connections, 1, 'both GETs on one kept-alive connection')
})

t.test('Connection: close is honoured, and an empty body reads at once', async t => {
  const server = await stub(socket => socket.write(head(200, { 'content-length': 0, connection: 'close' })))
  t.teardown(() => server.close())
  const pool = new WirePool(4, 2000)
  t.teardown(() => pool.close())
  for (let i = 0; i < 2; i++) {
    const res = await get(pool, server.port)
    if (res === undefined) return t.fail('answered')
    t.equal((await readAll(res)).bytes.length, 0)
  }
  t.equal(server.connections, 2, 'a new connection after Connection: close')
})

t.test('answers this path does not read come back undefined, for another way', async t => {
  const cases: Array<[string, Respond]> = [
    ['no Content-Length', s => s.write('HTTP/1.1 200 OK\r\netag: x\r\n\r\nabc')],
    ['chunked', s => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')],
    ['a head over 16 KiB', s => s.write(head(200, { 'x-amz-meta-big': 'v'.repeat(17 * 1024), 'content-length': 3 }) + 'abc')],
    ['not HTTP', s => s.write('SSH-2.0-OpenSSH\r\n\r\n')],
    ['closed before the head', s => s.destroy()],
  ]
  for (const [name, respond] of cases) {
    const server = await stub(respond)
    const pool = new WirePool(4, 2000)
    t.equal(await get(pool, server.port), undefined, name)
    pool.close()
    await server.close()
  }
})

t.test('a body cut short rejects with a network error; the connection is not kept', async t => {
  const server = await stub((socket, _req, n) => {
    if (n === 1) {
      socket.write(head(200, { 'content-length': body.length }))
      socket.write(body.subarray(0, 1000), () => socket.destroy())
    } else socket.write(Buffer.concat([Buffer.from(head(200, { 'content-length': 3 })), Buffer.from('abc')]))
  })
  t.teardown(() => server.close())
  const pool = new WirePool(4, 2000)
  t.teardown(() => pool.close())
  const res = await get(pool, server.port)
  if (res === undefined) return t.fail('answered')
  await t.rejects(readAll(res), { code: 'ECONNRESET' })
  const next = await get(pool, server.port)
  if (next === undefined) return t.fail('answered')
  t.equal((await readAll(next)).bytes.toString(), 'abc')
  t.equal(server.connections, 2)
})

t.test('a GET cancelled during its body rejects; before its head, it rejects too', async t => {
  const server = await stub((socket, _req, n) => {
    if (n === 1) {
      socket.write(head(200, { 'content-length': body.length }))
      socket.write(body.subarray(0, 1000))
    } // the second request is never answered
  })
  t.teardown(() => server.close())
  const pool = new WirePool(4, 2000)
  t.teardown(() => pool.close())
  const cancel = new AbortController()
  const res = await get(pool, server.port, cancel.signal)
  if (res === undefined) return t.fail('answered')
  const reading = readAll(res)
  setTimeout(() => cancel.abort(new Error('gave up')), 50)
  await t.rejects(reading, { message: 'gave up' })
  const cancelHead = new AbortController()
  setTimeout(() => cancelHead.abort(new Error('gave up early')), 50)
  await t.rejects(get(pool, server.port, cancelHead.signal), { message: 'gave up early' })
})

t.test('over TLS the body lands byte-exact too, on one kept-alive connection', async t => {
  const server = await stub(socket => socket.write(Buffer.concat([Buffer.from(head(200, { 'content-length': body.length })), body])), true)
  t.teardown(() => server.close())
  const pool = new WirePool(4, 2000, { ca: CERT })
  t.teardown(() => pool.close())
  for (const round of [1, 2]) {
    const res = await get(pool, server.port, undefined, 'https:')
    if (res === undefined) return t.fail('answered')
    t.ok((await readAll(res)).bytes.equals(body), `round ${round}: byte-exact`)
  }
  t.equal(server.connections, 1)
})
