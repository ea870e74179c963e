/**
 * Counters of the requests s3cachefs sends to the store: how many of each kind,
 * bytes received, failures by error code, bodies checked against the store's checksums
 * and found corrupt, and latency percentiles (from a bounded
 * ring of recent samples, so memory stays constant however long the mount lives).
 * The one list of request kinds: `stats`, the Prometheus labels and the fault
 * injector's targets all use these names. An observer (the Prometheus latency
 * histogram) sees each request's duration as MeteredClient measured it, once.
 */

export const REQUEST_KINDS = ['head', 'list', 'get', 'checkBucket', 'upload', 'copy', 'delete'] as const

/** A kind of request to the store; multipart steps count as `upload`. */
export type RequestKind = (typeof REQUEST_KINDS)[number]

/** Told the kind and duration (seconds) of every finished request. */
export type RequestObserver = (kind: RequestKind, seconds: number) => void

const LATENCY_SAMPLES = 2048 // recent samples kept per kind for percentiles; 16 KiB each

export interface KindSnapshot {
  readonly count: number
  readonly errors: number
  readonly bytes: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface RequestMetricsSnapshot {
  readonly byKind: Readonly<Record<RequestKind, KindSnapshot>>
  readonly errorsByCode: Readonly<Record<string, number>>
  readonly inFlight: number
  /** Response bodies checked against the store's checksum or MD5 ETag; `corrupt` failed it (each was retried, never cached). */
  readonly integrity: { readonly checked: number; readonly corrupt: number }
}

class KindCounter {
  count = 0
  errors = 0
  bytes = 0
  readonly #samples = new Float64Array(LATENCY_SAMPLES)
  #next = 0
  #filled = 0

  record(ms: number): void {
    this.#samples[this.#next] = ms
    this.#next = (this.#next + 1) % LATENCY_SAMPLES
    this.#filled = Math.min(this.#filled + 1, LATENCY_SAMPLES)
  }

  snapshot(): KindSnapshot {
    const sorted = Array.from(this.#samples.subarray(0, this.#filled)).sort((a, b) => a - b)
    const pct = (p: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0))
    return { count: this.count, errors: this.errors, bytes: this.bytes, p50Ms: pct(0.5), p99Ms: pct(0.99) }
  }
}

export class RequestMetrics {
  readonly #kinds = Object.fromEntries(REQUEST_KINDS.map(k => [k, new KindCounter()])) as Record<RequestKind, KindCounter>
  readonly #errorsByCode = new Map<string, number>()
  readonly #observers: RequestObserver[] = []
  #inFlight = 0
  #checked = 0
  #corrupt = 0

  /** A response body was checked against the store's checksum or MD5 ETag. */
  checked(ok: boolean): void {
    this.#checked++
    if (!ok) this.#corrupt++
  }

  /** Adds an observer of every request finished from now on. */
  observe(observer: RequestObserver): void {
    this.#observers.push(observer)
  }

  started(): void {
    this.#inFlight++
  }

  finished(kind: RequestKind, ms: number, bytes: number, errorCode?: string): void {
    this.#inFlight--
    const k = this.#kinds[kind]
    k.count++
    k.bytes += bytes
    k.record(ms)
    for (const o of this.#observers) o(kind, ms / 1000)
    if (errorCode !== undefined) {
      k.errors++
      this.#errorsByCode.set(errorCode, (this.#errorsByCode.get(errorCode) ?? 0) + 1)
    }
  }

  snapshot(): RequestMetricsSnapshot {
    return {
      byKind: Object.fromEntries(REQUEST_KINDS.map(k => [k, this.#kinds[k].snapshot()])) as Record<RequestKind, KindSnapshot>,
      errorsByCode: Object.fromEntries(this.#errorsByCode),
      inFlight: this.#inFlight,
      integrity: { checked: this.#checked, corrupt: this.#corrupt },
    }
  }
}
