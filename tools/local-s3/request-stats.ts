/**
 * Request counters of the local S3 server. Tests and the benchmark read them
 * over HTTP (GET /__s3cachefs/stats) to assert how many requests of each kind
 * a filesystem operation cost ("this `ls -l` caused no HEAD") and how many
 * bytes left the server. The control middleware feeds them; nothing here
 * knows about HTTP routing.
 */
import type { ServerResponse } from 'node:http'
import { REQUEST_KINDS, type RequestKind } from './s3-request.js'

export type { RequestKind } from './s3-request.js'

/** The JSON served at GET /__s3cachefs/stats. */
export interface RequestStats {
  /** Requests received, by kind; counted on arrival, so faulted requests count too. */
  requests: Record<RequestKind, number>
  /** Sum of `requests`. */
  total: number
  /** Response body bytes written for S3 requests (HEAD responses carry none). */
  bytesSent: number
  /** `bytesSent` split by request kind (object data is getObject + rangedGet). */
  bytesSentByKind: Record<RequestKind, number>
  /** Finished responses by status code ('200', '206', '503'…); 'aborted' when the connection closed first. */
  responses: Record<string, number>
  /** Requests a fault was applied to (status, reset or delay). */
  faultsInjected: number
}

function zeroByKind(): Record<RequestKind, number> {
  const counts = {} as Record<RequestKind, number>
  for (const kind of REQUEST_KINDS) counts[kind] = 0
  return counts
}

export class RequestCounters {
  #requests = zeroByKind()
  #bytesByKind = zeroByKind()
  #responses = new Map<string, number>()
  #faultsInjected = 0

  recordRequest(kind: RequestKind): void {
    this.#requests[kind] += 1
  }

  recordFault(): void {
    this.#faultsInjected += 1
  }

  recordBytes(kind: RequestKind, bytes: number): void {
    this.#bytesByKind[kind] += bytes
  }

  recordResponse(outcome: string): void {
    this.#responses.set(outcome, (this.#responses.get(outcome) ?? 0) + 1)
  }

  snapshot(): RequestStats {
    const sum = (counts: Record<RequestKind, number>): number => REQUEST_KINDS.reduce((acc, kind) => acc + counts[kind], 0)
    return {
      requests: { ...this.#requests },
      total: sum(this.#requests),
      bytesSent: sum(this.#bytesByKind),
      bytesSentByKind: { ...this.#bytesByKind },
      responses: Object.fromEntries(this.#responses),
      faultsInjected: this.#faultsInjected,
    }
  }

  reset(): void {
    this.#requests = zeroByKind()
    this.#bytesByKind = zeroByKind()
    this.#responses.clear()
    this.#faultsInjected = 0
  }
}

function chunkBytes(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk)
  if (chunk instanceof Uint8Array) return chunk.byteLength
  return 0
}

/**
 * Counts the body bytes this response writes. Wrapping write/end is exact for
 * every way Koa and s3rver answer (streams piped in, strings, buffers), where
 * Content-Length would over-count responses a client aborted.
 */
export function meterResponseBody(res: ServerResponse, onBytes: (bytes: number) => void): void {
  // Node's overloads cannot be restated generically; the wrappers forward every argument untouched.
  const write = res.write.bind(res) as (...args: unknown[]) => boolean
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    onBytes(chunkBytes(chunk))
    return write(chunk, ...rest)
  }) as ServerResponse['write']
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    onBytes(chunkBytes(chunk))
    return end(chunk, ...rest)
  }) as ServerResponse['end']
}
