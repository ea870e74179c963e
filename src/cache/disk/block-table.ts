/**
 * The blocks of the disk cache's index, packed: one slot per block in typed arrays
 * (its object's slot, block index, bytes, when it was stored, a flag), slots reused
 * from a free list; found by (object slot, block index) through a chained hash table
 * of two Int32Arrays; each object's blocks linked in a list through `nextInObject`,
 * headed in ObjectTable. No JS object per block: ~33 bytes of typed arrays each (plus
 * growth slack), and what the eviction policy keeps per slot.
 */
import { grow } from '../eviction/slot-queues.js'
import { growSize, type ObjectTable } from './object-table.js'

const INITIAL_SLOTS = 1024
const NONE = -1

export class BlockTable {
  readonly #objects: ObjectTable
  #object = new Int32Array(INITIAL_SLOTS)
  #index = new Uint32Array(INITIAL_SLOTS)
  #bytes = new Uint32Array(INITIAL_SLOTS)
  #storedAtMs = new Float64Array(INITIAL_SLOTS)
  #nextInObject = new Int32Array(INITIAL_SLOTS)
  /** Hash chain, and the free list for free slots. */
  #next = new Int32Array(INITIAL_SLOTS)
  #flags = new Uint8Array(INITIAL_SLOTS)
  #buckets = new Int32Array(INITIAL_SLOTS).fill(NONE)
  #used = 0
  #free = NONE

  constructor(objects: ObjectTable) {
    this.#objects = objects
  }

  find(object: number, index: number): number {
    for (let s = this.#buckets[bucketHash(object, index) & (this.#buckets.length - 1)] as number; s !== NONE; s = this.#next[s] as number) {
      if (this.#object[s] === object && this.#index[s] === index) return s
    }
    return NONE
  }

  /** A new block of `object` (which must not hold `index` yet), first in the object's list. */
  create(object: number, index: number, bytes: number, storedAtMs: number, flags: number): number {
    const slot = this.#allocate()
    this.#object[slot] = object
    this.#index[slot] = index
    this.#bytes[slot] = bytes
    this.#storedAtMs[slot] = storedAtMs
    this.#flags[slot] = flags
    const b = bucketHash(object, index) & (this.#buckets.length - 1)
    this.#next[slot] = this.#buckets[b] as number
    this.#buckets[b] = slot
    this.#nextInObject[slot] = this.#objects.firstBlock(object)
    this.#objects.setFirstBlock(object, slot)
    return slot
  }

  delete(slot: number): void {
    const object = this.#object[slot] as number
    const b = bucketHash(object, this.#index[slot] as number) & (this.#buckets.length - 1)
    if (this.#buckets[b] === slot) this.#buckets[b] = this.#next[slot] as number
    else {
      let p = this.#buckets[b] as number
      while (this.#next[p] !== slot) p = this.#next[p] as number
      this.#next[p] = this.#next[slot] as number
    }
    // Singly linked (4 bytes a block less): most objects have one block, and whole objects
    // are dropped first block first; evicting one block of a large object walks its list.
    const next = this.#nextInObject[slot] as number
    const first = this.#objects.firstBlock(object)
    if (first === slot) this.#objects.setFirstBlock(object, next)
    else {
      let p = first
      while (this.#nextInObject[p] !== slot) p = this.#nextInObject[p] as number
      this.#nextInObject[p] = next
    }
    this.#object[slot] = NONE
    this.#next[slot] = this.#free
    this.#free = slot
  }

  objectOf(slot: number): number {
    return this.#object[slot] as number
  }

  indexOf(slot: number): number {
    return this.#index[slot] as number
  }

  bytesOf(slot: number): number {
    return this.#bytes[slot] as number
  }

  storedAtOf(slot: number): number {
    return this.#storedAtMs[slot] as number
  }

  flagsOf(slot: number): number {
    return this.#flags[slot] as number
  }

  setFlags(slot: number, flags: number): void {
    this.#flags[slot] = flags
  }

  /** Whether `slot` holds a block now (slots are reused once freed). */
  live(slot: number): boolean {
    return slot >= 0 && slot < this.#used && this.#object[slot] !== NONE
  }

  /** The next block of the same object, or -1. */
  nextInObject(slot: number): number {
    return this.#nextInObject[slot] as number
  }

  /** The blocks of an object, as a list taken now (safe to remove them while walking it). */
  blocksOf(object: number): number[] {
    const out: number[] = []
    for (let s = this.#objects.firstBlock(object); s !== NONE; s = this.#nextInObject[s] as number) out.push(s)
    return out
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const slot = this.#free
      this.#free = this.#next[slot] as number
      return slot
    }
    if (this.#used === this.#object.length) this.#grow()
    return this.#used++
  }

  #grow(): void {
    const n = growSize(this.#object.length)
    this.#object = grow(this.#object, new Int32Array(n))
    this.#index = grow(this.#index, new Uint32Array(n))
    this.#bytes = grow(this.#bytes, new Uint32Array(n))
    this.#storedAtMs = grow(this.#storedAtMs, new Float64Array(n))
    this.#nextInObject = grow(this.#nextInObject, new Int32Array(n))
    this.#next = grow(this.#next, new Int32Array(n))
    this.#flags = grow(this.#flags, new Uint8Array(n))
    // Twice the buckets once there are more than two slots per bucket (no slot is free when the arrays grow).
    if (this.#buckets.length * 2 >= n) return
    const buckets = 2 * this.#buckets.length
    this.#buckets = new Int32Array(buckets).fill(NONE)
    for (let s = 0; s < this.#used; s++) {
      const b = bucketHash(this.#object[s] as number, this.#index[s] as number) & (buckets - 1)
      this.#next[s] = this.#buckets[b] as number
      this.#buckets[b] = s
    }
  }
}

function bucketHash(object: number, index: number): number {
  let x = Math.imul(object ^ Math.imul(index + 1, 0x9e3779b1), 0x85ebca6b)
  x ^= x >>> 15
  return x >>> 0
}
