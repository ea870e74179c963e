/**
 * A bounded LRU map whose entries expire after a TTL measured on an injected
 * clock (so tests can move time). `Infinity` TTL never expires. Sizes are in
 * "weight" units (1 per entry unless a weight function is given).
 * With `staleMs`, an expired entry is kept that much longer (still within the
 * bound) for `getStale`: what stale-if-error serves while the store fails.
 */
import { LRUCache } from 'lru-cache'

export type Clock = () => number

interface Slot<V> {
  readonly value: V
  readonly expiresAtMs: number
}

export class TtlCache<V extends object> {
  readonly #lru: LRUCache<string, Slot<V>>
  readonly #clock: Clock
  readonly #staleMs: number

  constructor(opts: { maxWeight: number; clock: Clock; weightOf?: (v: V) => number; staleMs?: number }) {
    this.#clock = opts.clock
    this.#staleMs = opts.staleMs ?? 0
    const weightOf = opts.weightOf
    this.#lru = new LRUCache<string, Slot<V>>({
      maxSize: opts.maxWeight,
      sizeCalculation: weightOf ? (slot: Slot<V>) => Math.max(1, weightOf(slot.value)) : () => 1,
    })
  }

  /** The fresh value, or undefined when absent or expired (expired slots are dropped). */
  get(key: string): V | undefined {
    const slot = this.#lru.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAtMs <= this.#clock()) {
      if (slot.expiresAtMs + this.#staleMs <= this.#clock()) this.#lru.delete(key)
      return undefined
    }
    return slot.value
  }

  /** The fresh value with the time it expires (ms on the clock), or undefined. */
  getWithExpiry(key: string): Readonly<{ value: V; expiresAtMs: number }> | undefined {
    return this.get(key) === undefined ? undefined : this.#lru.peek(key)
  }

  /** The value even if expired, as long as it expired less than `staleMs` ago. */
  getStale(key: string): V | undefined {
    const slot = this.#lru.get(key)
    if (slot === undefined || slot.expiresAtMs + this.#staleMs <= this.#clock()) return undefined
    return slot.value
  }

  /** A TTL ≤ 0 keeps nothing, and drops what was held: an older value must not outlive its replacement. */
  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) {
      this.#lru.delete(key)
      return
    }
    this.#lru.set(key, { value, expiresAtMs: this.#clock() + ttlMs })
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  /** Drops every key for which `pred` holds. */
  deleteWhere(pred: (key: string) => boolean): void {
    for (const key of [...this.#lru.keys()]) if (pred(key)) this.#lru.delete(key)
  }

  /**
   * Ends the TTL of every key for which `pred` holds, now: the next `get` misses, but
   * with `staleMs` the values stay for `getStale` (what a refresh that fails can fall back on).
   */
  expireWhere(pred: (key: string) => boolean): void {
    if (this.#staleMs <= 0) return this.deleteWhere(pred)
    const now = this.#clock()
    for (const key of [...this.#lru.keys()]) {
      const slot = this.#lru.peek(key)
      if (slot !== undefined && slot.expiresAtMs > now && pred(key)) this.#lru.set(key, { value: slot.value, expiresAtMs: now })
    }
  }

  /** Every key held, expired or not (expired ones are dropped lazily). */
  keys(): string[] {
    return [...this.#lru.keys()]
  }

  get size(): number {
    return this.#lru.size
  }
}
