/**
 * Least-recently-used eviction: a Map in recency order (first = least recent).
 * Kept for comparison and for workloads known to be recency-friendly; it
 * collapses to ~0 hits when each epoch scans a dataset larger than the cache.
 */
import type { EvictionPolicy } from './eviction-policy.js'

export class LruPolicy<K> implements EvictionPolicy<K> {
  readonly name = 'lru' as const
  readonly #entries = new Map<K, number>()
  #bytes = 0

  setCapacity(): void {
    // Recency alone decides; the cache stops asking once it is under its bound.
  }

  insert(key: K, bytes: number): void {
    this.remove(key)
    this.#entries.set(key, bytes)
    this.#bytes += bytes
  }

  access(key: K): void {
    const bytes = this.#entries.get(key)
    if (bytes === undefined) return
    this.#entries.delete(key)
    this.#entries.set(key, bytes)
  }

  remove(key: K): void {
    const bytes = this.#entries.get(key)
    if (bytes === undefined) return
    this.#entries.delete(key)
    this.#bytes -= bytes
  }

  evict(): K | undefined {
    for (const [key, bytes] of this.#entries) {
      this.#entries.delete(key)
      this.#bytes -= bytes
      return key
    }
    return undefined
  }

  get size(): number {
    return this.#entries.size
  }

  get bytes(): number {
    return this.#bytes
  }
}
