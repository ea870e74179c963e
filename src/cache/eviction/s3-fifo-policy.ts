/**
 * The scan-resistant eviction policy (the default): S3-FIFO's two queues with a
 * TinyLFU frequency test deciding who enters the main queue.
 *
 * Why not plain LRU, S3-FIFO, 2Q or ARC: a training job reads every file once per
 * epoch. When the dataset is larger than the cache, each block's reuse distance
 * is the whole dataset, so LRU keeps exactly the blocks that will be read last
 * and hits ~0%. S3-FIFO, 2Q and ARC remember evicted blocks in a ghost list of
 * about one cache's worth of entries; a reuse distance of 2× the cache outruns
 * it, and they also fall to ~0% on a cyclic scan of twice the cache (measured:
 * 0.000 for all three). What survives epochs is refusing to let one-pass
 * newcomers displace residents that are at least as popular: then a fixed part
 * of the dataset stays and hits every epoch. A count-min sketch (which
 * remembers far more blocks than the cache holds, in 4 bytes per slot) gives
 * that popularity; S3-FIFO's queues keep its strengths on skewed workloads.
 *
 *  - small (10% of bytes): FIFO where new blocks start. A block read again
 *    while in it moves to main when it reaches the end.
 *  - main (90%): CLOCK (FIFO with a 2-bit use counter and reinsertion).
 *  - A block leaving small unread enters main only if main has room or the
 *    sketch says it is read more often than main's next victim (which is then
 *    evicted instead); otherwise it is evicted. Ties keep the resident.
 *  - An explicit `load` (preload) goes straight to main with a full counter.
 *
 * Theory for a cyclic scan of N equal blocks with N ≥ 2× the cache: main fills
 * with the first 90% of the cache and keeps it; small never hits. Hit ratio
 * 0.9·C/N (0.45 at N = 2C), where LRU has 0. Measured in a simulation
 * (C = 2,000 blocks): shuffled epochs at 2× 0.38 (LRU 0.15), at 4× 0.17 (LRU
 * 0.04); Zipf 0.8 over 10× the cache 0.54 (LRU 0.45); a hot set mixed with
 * one-time scans 0.60 (LRU 0.52); a working set that moves every 20 cache
 * turnovers 0.91 (LRU 0.97: it adapts more slowly, as counts fade). A dataset
 * that replaces another one is admitted as the old one's counts halve; `free`
 * and `load` make that immediate.
 *
 * Storage: the two queues are SlotQueues (typed arrays over the index's integer
 * slots) and the CLOCK counter one byte per slot, so a block costs no JS object.
 */
import type { EvictionPolicy } from './eviction-policy.js'
import { FrequencySketch } from './frequency-sketch.js'
import { grow, SlotQueues } from './slot-queues.js'

const SMALL_SHARE = 0.1 // S3-FIFO's measured sweet spot for the small queue
const MAX_FREQ = 3 // 2-bit use counter of the CLOCK, as in S3-FIFO
const PRELOAD_SKETCH_BUMPS = 3 // an operator's load counts as a few reads
const SMALL = 1
const MAIN = 2

export class S3FifoPolicy implements EvictionPolicy<number> {
  readonly name = 'scan-resistant' as const
  readonly #hashOf: (slot: number) => number
  readonly #sketch = new FrequencySketch(1024)
  /** INVARIANT: a slot is in at most one of the two queues (SlotQueues keeps that). */
  readonly #q = new SlotQueues(2)
  /** The CLOCK use counter of each slot. */
  #freq = new Uint8Array(1024)
  #capacity = Infinity
  #plannedEntries = 1024

  constructor(hashOf: (slot: number) => number) {
    this.#hashOf = hashOf
  }

  setCapacity(bytes: number): void {
    this.#capacity = Math.max(0, bytes)
  }

  insert(slot: number, bytes: number, preload = false): void {
    this.#q.unlink(slot)
    this.#count(slot, preload)
    if (preload) this.#enter(MAIN, slot, bytes, MAX_FREQ)
    else this.#enter(SMALL, slot, bytes, 0)
    this.#planFor(this.size)
  }

  /** A block found on disk at start: first in line in the small queue, uncounted. */
  insertOldest(slot: number, bytes: number): void {
    this.#q.unlink(slot)
    this.#q.pushHead(SMALL, slot, bytes)
    this.#setFreq(slot, 0)
    this.#planFor(this.size)
  }

  access(slot: number, preload = false): void {
    if (this.#q.queueOf(slot) === 0) return
    this.#freq[slot] = preload ? MAX_FREQ : Math.min(MAX_FREQ, (this.#freq[slot] as number) + 1)
    this.#count(slot, preload)
  }

  remove(slot: number): void {
    this.#q.unlink(slot)
  }

  evict(): number | undefined {
    const smallTarget = this.#capacity * SMALL_SHARE
    for (;;) {
      const mainSize = this.#q.size(MAIN)
      const smallSize = this.#q.size(SMALL)
      if (mainSize === 0 && smallSize === 0) return undefined
      if (mainSize > 0 && (smallSize === 0 || this.#q.bytes(SMALL) <= smallTarget)) return this.#evictMain()
      const slot = this.#q.head(SMALL)
      const bytes = this.#q.bytesOf(slot)
      this.#q.unlink(slot)
      if ((this.#freq[slot] as number) > 0 || this.#q.bytes(MAIN) + bytes <= this.#capacity - smallTarget) {
        this.#enter(MAIN, slot, bytes, 0)
        continue
      }
      // Main may be empty (pins hold the rest of the bound, or a bound lowered to almost
      // nothing): then the newcomer itself is the only candidate.
      if (mainSize === 0) return slot
      const victim = this.#clockHand()
      if (this.#sketch.frequency(this.#hashOf(slot)) > this.#sketch.frequency(this.#hashOf(victim))) {
        this.#q.unlink(victim)
        this.#enter(MAIN, slot, bytes, 0)
        return victim
      }
      return slot
    }
  }

  get size(): number {
    return this.#q.size(SMALL) + this.#q.size(MAIN)
  }

  get bytes(): number {
    return this.#q.bytes(SMALL) + this.#q.bytes(MAIN)
  }

  #count(slot: number, preload: boolean): void {
    const h = this.#hashOf(slot)
    for (let i = preload ? PRELOAD_SKETCH_BUMPS : 1; i > 0; i--) this.#sketch.increment(h)
  }

  /** Grows the sketch with the cache (8–16 bytes per block), rarely: each doubling forgets the counts. */
  #planFor(entries: number): void {
    if (entries <= this.#plannedEntries) return
    this.#plannedEntries = 2 * entries
    this.#sketch.ensureCapacity(entries)
  }

  #enter(q: number, slot: number, bytes: number, freq: number): void {
    this.#q.pushTail(q, slot, bytes)
    this.#setFreq(slot, freq)
  }

  #setFreq(slot: number, freq: number): void {
    if (slot >= this.#freq.length) this.#freq = grow(this.#freq, new Uint8Array(this.#q.capacity))
    this.#freq[slot] = freq
  }

  /**
   * Main's next victim (left in place): the first block whose use counter is 0, decrementing the others as the hand passes.
   * Callers ensure main is not empty; the hand stops within MAX_FREQ + 1 turns.
   */
  #clockHand(): number {
    for (;;) {
      const slot = this.#q.head(MAIN)
      const f = this.#freq[slot] as number
      if (f === 0) return slot
      this.#freq[slot] = f - 1
      const bytes = this.#q.bytesOf(slot)
      this.#q.unlink(slot)
      this.#q.pushTail(MAIN, slot, bytes)
    }
  }

  #evictMain(): number {
    const slot = this.#clockHand()
    this.#q.unlink(slot)
    return slot
  }
}
