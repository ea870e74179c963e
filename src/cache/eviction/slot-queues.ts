/**
 * Doubly linked FIFO queues over integer slots, kept in typed arrays: the eviction
 * policies' storage. A slot is a small non-negative integer (BlockIndex hands out
 * dense slots from a free list), so a block costs the policy 13 bytes (two links,
 * its byte count, the queue it is in) and no JS object or Map entry.
 *
 * INVARIANT: a slot is in at most one queue; `queueOf(slot)` is 0 when in none.
 */

const NONE = -1
/** Slots the arrays start with; they grow by half as needed. */
const INITIAL_SLOTS = 1024

export class SlotQueues {
  #prev = new Int32Array(INITIAL_SLOTS)
  #next = new Int32Array(INITIAL_SLOTS)
  /** Bytes of the block in a slot (a block is under 4 GiB). */
  #bytes = new Uint32Array(INITIAL_SLOTS)
  #queue = new Uint8Array(INITIAL_SLOTS)
  readonly #head: Int32Array
  readonly #tail: Int32Array
  readonly #size: Float64Array
  readonly #sizeBytes: Float64Array

  /** `queues` queues, numbered 1..queues. */
  constructor(queues: number) {
    this.#head = new Int32Array(queues + 1).fill(NONE)
    this.#tail = new Int32Array(queues + 1).fill(NONE)
    this.#size = new Float64Array(queues + 1)
    this.#sizeBytes = new Float64Array(queues + 1)
  }

  /** Slots the arrays hold now (they grow with the largest slot seen). */
  get capacity(): number {
    return this.#queue.length
  }

  queueOf(slot: number): number {
    return slot < this.#queue.length ? (this.#queue[slot] as number) : 0
  }

  bytesOf(slot: number): number {
    return this.#bytes[slot] as number
  }

  size(q: number): number {
    return this.#size[q] as number
  }

  bytes(q: number): number {
    return this.#sizeBytes[q] as number
  }

  /** The first (oldest) slot of queue `q`, or -1. */
  head(q: number): number {
    return this.#head[q] as number
  }

  /** Appends `slot` (in no queue) at the tail of `q`. */
  pushTail(q: number, slot: number, bytes: number): void {
    this.#ensure(slot)
    const t = this.#tail[q] as number
    this.#prev[slot] = t
    this.#next[slot] = NONE
    if (t === NONE) this.#head[q] = slot
    else this.#next[t] = slot
    this.#tail[q] = slot
    this.#enter(q, slot, bytes)
  }

  /** Puts `slot` (in no queue) at the head of `q`: it leaves first. */
  pushHead(q: number, slot: number, bytes: number): void {
    this.#ensure(slot)
    const h = this.#head[q] as number
    this.#next[slot] = h
    this.#prev[slot] = NONE
    if (h === NONE) this.#tail[q] = slot
    else this.#prev[h] = slot
    this.#head[q] = slot
    this.#enter(q, slot, bytes)
  }

  /** Takes `slot` out of its queue; returns the queue it was in (0: none). */
  unlink(slot: number): number {
    const q = this.queueOf(slot)
    if (q === 0) return 0
    const p = this.#prev[slot] as number
    const n = this.#next[slot] as number
    if (p === NONE) this.#head[q] = n
    else this.#next[p] = n
    if (n === NONE) this.#tail[q] = p
    else this.#prev[n] = p
    this.#queue[slot] = 0
    this.#size[q] = (this.#size[q] as number) - 1
    this.#sizeBytes[q] = (this.#sizeBytes[q] as number) - (this.#bytes[slot] as number)
    return q
  }

  #enter(q: number, slot: number, bytes: number): void {
    this.#queue[slot] = q
    this.#bytes[slot] = bytes
    this.#size[q] = (this.#size[q] as number) + 1
    this.#sizeBytes[q] = (this.#sizeBytes[q] as number) + bytes
  }

  #ensure(slot: number): void {
    if (slot < this.#queue.length) return
    const n = Math.max(slot + 1, Math.ceil(this.#queue.length * 1.5)) // by half: within 1.5× of the slots used
    this.#prev = grow(this.#prev, new Int32Array(n))
    this.#next = grow(this.#next, new Int32Array(n))
    this.#bytes = grow(this.#bytes, new Uint32Array(n))
    this.#queue = grow(this.#queue, new Uint8Array(n))
  }
}

/** Copies `old` into the start of `bigger` and returns it. */
export function grow<T extends Int32Array | Uint32Array | Uint8Array | Float64Array | Uint16Array>(old: T, bigger: T): T {
  bigger.set(old as never)
  return bigger
}
