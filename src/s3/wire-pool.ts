/**
 * Keep-alive HTTP/1.1 connections for the lean GET, read without Node's HTTP stack.
 * Each socket is made with `onread`: libuv reads into memory the connection's current
 * exchange names (wire-get.ts), so a response's head lands in one reused scratch buffer
 * and its body straight in the cache blocks being filled. Node's http client would
 * instead allocate a Buffer per chunk and push it through its parser, a Readable and
 * 'data' events: on a cold sequential read that was a third of the daemon's main thread,
 * plus the garbage collection of ~4,000 chunks per 256 MiB.
 *
 * One exchange at a time per connection. Idle connections are kept per origin, up to a
 * bound; one the server closes, or that receives bytes while idle, is dropped.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { type ConnectionOptions, connect as tlsConnect, TLSSocket } from 'node:tls'

/** The exchange a connection reads for now. */
export interface Receiver {
  /** Memory the next read fills (never empty). */
  target(): Uint8Array
  /** `n` bytes were read into `into`, the last target. */
  received(n: number, into: Uint8Array): void
  /** The connection broke or closed. */
  failed(err: Error): void
}

export interface Origin {
  readonly protocol: string
  readonly hostname: string
  readonly port: number | undefined
}

/**
 * Each connection's buffer for response heads (S3's are ~1 KiB, user metadata at most
 * 2 KiB; a larger head is not read on this path). Reads of an idle connection land
 * there too, so the next exchange finds its head's first bytes in place.
 */
export const SCRATCH_BYTES = 16 * 1024

export class WireConnection {
  readonly socket: Socket
  readonly key: string
  /** False once the server said `Connection: close`, or an exchange ended early. */
  reusable = true
  #receiver: Receiver | undefined
  readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES)

  constructor(origin: Origin, key: string, tls: ConnectionOptions) {
    this.key = key
    const onread = {
      buffer: (): Uint8Array => this.#receiver?.target() ?? this.scratch,
      callback: (n: number, into: Uint8Array): boolean => {
        const r = this.#receiver
        if (r === undefined) this.socket.destroy()
        else r.received(n, into)
        return true
      },
    }
    const https = origin.protocol === 'https:'
    const port = origin.port ?? (https ? 443 : 80)
    // tls.connect takes `onread` too (Node ≥ 15.1), though its typings do not say so.
    const tlsOptions = (): ConnectionOptions & { onread: typeof onread } => ({
      ...tls,
      host: origin.hostname,
      port,
      servername: origin.hostname,
      ALPNProtocols: ['http/1.1'],
      onread,
    })
    this.socket = https ? tlsConnect(tlsOptions()) : netConnect({ host: origin.hostname, port, noDelay: true, onread })
    const lost = (err?: Error): void => {
      this.reusable = false
      const r = this.#receiver
      this.#receiver = undefined
      r?.failed(err ?? Object.assign(new Error('the store closed the connection'), { code: 'ECONNRESET' }))
    }
    this.socket.on('error', lost)
    this.socket.on('close', () => lost())
  }

  attach(receiver: Receiver): void {
    this.#receiver = receiver
  }

  detach(): void {
    this.#receiver = undefined
  }

  get alive(): boolean {
    return !this.socket.destroyed && this.reusable
  }
}

export class WirePool {
  readonly #idle = new Map<string, WireConnection[]>()
  readonly #maxIdlePerOrigin: number
  readonly #connectTimeoutMs: number
  readonly #tls: ConnectionOptions

  /** `tls`: options for HTTPS connections beyond the defaults (tests give their own CA). */
  constructor(maxIdlePerOrigin: number, connectTimeoutMs: number, tls: ConnectionOptions = {}) {
    this.#maxIdlePerOrigin = maxIdlePerOrigin
    this.#connectTimeoutMs = connectTimeoutMs
    this.#tls = tls
  }

  /** An idle connection to `origin`, or a new one once connected. */
  async acquire(origin: Origin, signal: AbortSignal): Promise<WireConnection> {
    const key = `${origin.protocol}//${origin.hostname}:${origin.port ?? ''}`
    const idle = this.#idle.get(key)
    while (idle !== undefined && idle.length > 0) {
      const conn = idle.pop() as WireConnection
      if (!conn.alive) continue
      conn.socket.ref()
      return conn
    }
    const conn = new WireConnection(origin, key, this.#tls)
    await connected(conn, this.#connectTimeoutMs, signal)
    return conn
  }

  /** Returns a connection whose exchange is complete; one that cannot be reused is closed. */
  release(conn: WireConnection): void {
    conn.detach()
    const idle = this.#idle.get(conn.key) ?? []
    if (!conn.alive || idle.length >= this.#maxIdlePerOrigin) {
      conn.socket.destroy()
      return
    }
    // An idle connection does not keep the process alive (as Node's keep-alive agents do).
    conn.socket.unref()
    idle.push(conn)
    this.#idle.set(conn.key, idle)
  }

  /** Closes every idle connection. */
  close(): void {
    for (const conns of this.#idle.values()) for (const c of conns) c.socket.destroy()
    this.#idle.clear()
  }
}

/** What an aborted signal was aborted with, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
}

function connected(conn: WireConnection, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const socket = conn.socket
  const ready = socket instanceof TLSSocket ? 'secureConnect' : 'connect'
  return new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      done()
      socket.destroy()
      reject(err)
    }
    const onAbort = (): void => fail(abortReason(signal))
    const onError = (err: Error): void => fail(err)
    const onClose = (): void => fail(Object.assign(new Error('the connection closed before it was made'), { code: 'ECONNRESET' }))
    const timer = setTimeout(() => fail(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs)
    const onReady = (): void => {
      done()
      resolve()
    }
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.off(ready, onReady)
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.once(ready, onReady)
  })
}
