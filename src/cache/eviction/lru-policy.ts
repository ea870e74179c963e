/**
 * Least-recently-used eviction: one queue in recency order (head = least recent),
 * over integer slots (SlotQueues). Kept for comparison and for workloads known to
 * be recency-friendly; it collapses to ~0 hits when each epoch scans a dataset
 * larger than the cache.
 */
import type { EvictionPolicy } from './eviction-policy.js'
import { SlotQueues } from './slot-queues.js'

const Q = 1

export class LruPolicy implements EvictionPolicy<number> {
  readonly name = 'lru' as const
  readonly #q = new SlotQueues(1)

  setCapacity(): void {
    // Recency alone decides; the cache stops asking once it is under its bound.
  }

  insert(slot: number, bytes: number): void {
    this.#q.unlink(slot)
    this.#q.pushTail(Q, slot, bytes)
  }

  insertOldest(slot: number, bytes: number): void {
    this.#q.unlink(slot)
    this.#q.pushHead(Q, slot, bytes)
  }

  access(slot: number): void {
    if (this.#q.unlink(slot) === 0) return
    this.#q.pushTail(Q, slot, this.#q.bytesOf(slot))
  }

  remove(slot: number): void {
    this.#q.unlink(slot)
  }

  evict(): number | undefined {
    const slot = this.#q.head(Q)
    if (slot < 0) return undefined
    this.#q.unlink(slot)
    return slot
  }

  get size(): number {
    return this.#q.size(Q)
  }

  get bytes(): number {
    return this.#q.bytes(Q)
  }
}
