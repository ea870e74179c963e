/**
 * One signed GET over a pooled connection (wire-pool.ts), its response read without
 * Node's HTTP stack: the head into the connection's scratch buffer, parsed here; the
 * body straight into the caller's pieces (`PieceWriter.writable`), so each byte is
 * written once, by the kernel, where the cache keeps it.
 *
 * Only what S3 answers a GET with is read this way: HTTP/1.x, a status, headers and a
 * body of Content-Length bytes. Anything else (no Content-Length, a chunked body, a
 * head over SCRATCH_BYTES) gives the connection up and answers `undefined`, as does a
 * failure before the head: the caller then sends the request another way.
 */
import type { PieceWriter } from './piece-writer.js'
import { abortReason, type Origin, type Receiver, SCRATCH_BYTES, type WireConnection, type WirePool } from './wire-pool.js'

/** Whether `a` and `b` start at the same byte of the same memory. */
function sameMemory(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset
}

const HEAD_END = Buffer.from('\r\n\r\n')

export interface WireRequest extends Origin {
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
}

export interface WireResponse {
  readonly status: number
  /** Header values by lower-case name (the first of repeated ones). */
  readonly headers: ReadonlyMap<string, string>
  readonly contentLength: number
  /** Reads the body into `writer` (which must hold `contentLength` bytes), telling `onBytes` of each span as it lands. */
  read(writer: PieceWriter, onBytes: (span: Uint8Array) => void): Promise<void>
  /** Gives the response up unread (the connection is closed). */
  discard(): void
}

/** Sends `req` and resolves with the response head, or `undefined` when this path cannot read it (see above). */
export async function wireGet(pool: WirePool, req: WireRequest, signal: AbortSignal): Promise<WireResponse | undefined> {
  let conn: WireConnection
  try {
    conn = await pool.acquire(req, signal)
  } catch (err) {
    if (signal.aborted) throw err
    return undefined
  }
  return new Exchange(pool, conn, signal).send(req)
}

class Exchange implements Receiver {
  readonly #pool: WirePool
  readonly #conn: WireConnection
  readonly #signal: AbortSignal
  readonly #scratch: Buffer
  #headBytes = 0
  #head: { resolve: (r: WireResponse | undefined) => void; reject: (err: unknown) => void } | undefined
  #body: { writer: PieceWriter; onBytes: (span: Uint8Array) => void; resolve: () => void; reject: (err: unknown) => void } | undefined
  /** Body bytes that came with the head, before `read`. */
  #early: Buffer | undefined
  #length = 0
  /** The head is parsed: reads now belong to the body. */
  #parsed = false
  #settled = false
  /** Why the exchange ended early, for a `read` that comes after. */
  #error: Error | undefined
  readonly #onAbort = (): void => this.#fail(abortReason(this.#signal))

  constructor(pool: WirePool, conn: WireConnection, signal: AbortSignal) {
    this.#pool = pool
    this.#conn = conn
    this.#signal = signal
    this.#scratch = conn.scratch
  }

  send(req: WireRequest): Promise<WireResponse | undefined> {
    return new Promise<WireResponse | undefined>((resolve, reject) => {
      this.#head = { resolve, reject }
      if (this.#signal.aborted) return this.#onAbort()
      this.#signal.addEventListener('abort', this.#onAbort, { once: true })
      this.#conn.attach(this)
      let text = `GET ${req.path} HTTP/1.1\r\n`
      for (const [name, value] of Object.entries(req.headers)) text += `${name}: ${value}\r\n`
      this.#conn.socket.write(text + '\r\n', 'latin1')
    })
  }

  target(): Uint8Array {
    const body = this.#body
    if (body !== undefined) {
      const rest = body.writer.writable()
      return rest.length > 0 ? rest : this.#scratch
    }
    // Never empty (libuv fails a read into no memory): a head that fills the scratch is not read here.
    return this.#parsed ? this.#scratch : this.#scratch.subarray(this.#headBytes)
  }

  /**
   * Node asks for the memory of the next read right after each one (and once at connect),
   * so a read may land in memory `target` named before the state changed (the scratch
   * buffer after the head was parsed, or while the connection was idle): then it is copied
   * to where it belongs.
   */
  received(n: number, into: Uint8Array): void {
    if (n <= 0) return
    const data = into.subarray(0, n)
    const body = this.#body
    if (body !== undefined) {
      if (sameMemory(into, body.writer.writable())) body.writer.advance(n)
      else if (!body.writer.write(data)) return this.#fail(new Error(`the store sent more than Content-Length (${this.#length} bytes)`))
      body.onBytes(data)
      if (body.writer.filled === this.#length) this.#finish()
      return
    }
    if (this.#parsed) {
      // Read before the caller said where the body goes: kept until it does.
      const early = this.#early === undefined ? Buffer.from(data) : Buffer.concat([this.#early, data])
      if (early.length > this.#length) return this.#fail(new Error(`the store sent more than Content-Length (${this.#length} bytes)`))
      this.#early = early
      return
    }
    const scratch = this.#scratch
    if (!sameMemory(into, scratch.subarray(this.#headBytes))) {
      if (this.#headBytes + n > SCRATCH_BYTES) return this.#unreadable()
      scratch.set(data, this.#headBytes)
    }
    const from = Math.max(0, this.#headBytes - 3)
    this.#headBytes += n
    const end = this.#scratch.subarray(0, this.#headBytes).indexOf(HEAD_END, from)
    if (end >= 0) this.#parseHead(end)
    else if (this.#headBytes >= SCRATCH_BYTES) this.#unreadable()
  }

  failed(err: Error): void {
    this.#fail(err)
  }

  #parseHead(end: number): void {
    this.#parsed = true
    const lines = this.#scratch.toString('latin1', 0, end).split('\r\n')
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '')
    if (status === null) return this.#unreadable()
    const headers = new Map<string, string>()
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim())
    }
    const length = Number(headers.get('content-length') ?? NaN)
    if (!Number.isSafeInteger(length) || length < 0 || headers.has('transfer-encoding')) return this.#unreadable()
    if (status[1] === '0' || /\bclose\b/i.test(headers.get('connection') ?? '')) this.#conn.reusable = false
    this.#length = length
    const early = this.#headBytes - (end + HEAD_END.length)
    if (early > length) return this.#unreadable()
    this.#early = early > 0 ? Buffer.from(this.#scratch.subarray(end + HEAD_END.length, this.#headBytes)) : undefined
    // Nothing more is read until the caller says where the body goes.
    this.#conn.socket.pause()
    const head = this.#head
    this.#head = undefined
    head?.resolve({
      status: Number(status[2]),
      headers,
      contentLength: length,
      read: (writer, onBytes) => this.#read(writer, onBytes),
      discard: () => this.#fail(new Error('discarded')),
    })
  }

  #read(writer: PieceWriter, onBytes: (span: Uint8Array) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#settled) return reject(this.#error ?? new Error('the response was given up'))
      this.#body = { writer, onBytes, resolve, reject }
      const early = this.#early
      this.#early = undefined
      if (early !== undefined) {
        writer.write(early)
        onBytes(early)
      }
      if (writer.filled === this.#length) return this.#finish()
      this.#conn.socket.resume()
    })
  }

  /** The whole body is in: the connection goes back to the pool. */
  #finish(): void {
    const body = this.#body
    this.#settle()
    this.#conn.socket.resume()
    this.#pool.release(this.#conn)
    body?.resolve()
  }

  /** A response this path does not read: the caller sends the request another way. */
  #unreadable(): void {
    this.#fail(new Error('unreadable response'))
  }

  /** Ends the exchange and closes the connection; before the head the caller tries another way, unless it gave up. */
  #fail(err: Error): void {
    if (this.#settled) return
    const head = this.#head
    const body = this.#body
    this.#settle()
    this.#error = err
    this.#conn.reusable = false
    this.#conn.detach()
    this.#conn.socket.destroy()
    if (head !== undefined) {
      if (this.#signal.aborted) head.reject(err)
      else head.resolve(undefined)
    }
    body?.reject(err)
  }

  #settle(): void {
    this.#settled = true
    this.#head = undefined
    this.#body = undefined
    this.#signal.removeEventListener('abort', this.#onAbort)
  }
}
