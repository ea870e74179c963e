/**
 * The objects of the disk cache's index, packed: one slot per object in typed arrays
 * (struct of arrays, slots reused from a free list), found by id through a chained
 * hash table that is itself two Int32Arrays. An object id (40 hex digits: objectIdOf)
 * is kept as its 20 bytes; an id of another form (never written by this version, but a
 * file name found on disk may be anything) keeps its string in a small side Map.
 * The catalog entry is kept as the key string and a 16-bit namespace number (one
 * string per namespace). BlockIndex links each object's blocks (BlockTable).
 */
import type { CatalogEntry } from '../object-catalog.js'
import { grow } from '../eviction/slot-queues.js'
import { KeyArena } from './key-arena.js'
import { fnv1a32 } from '../../util/fnv.js'

const ID_BYTES = 20
const INITIAL_SLOTS = 1024
const NONE = -1

export class ObjectTable {
  #ids = Buffer.alloc(INITIAL_SLOTS * ID_BYTES)
  /** Hash chain, and the free list for free slots. */
  #next = new Int32Array(INITIAL_SLOTS)
  #buckets = new Int32Array(INITIAL_SLOTS).fill(NONE)
  #pinned = new Uint8Array(INITIAL_SLOTS)
  /** 0: no catalog entry; else 1 + index into #namespaces. */
  #ns = new Uint16Array(INITIAL_SLOTS)
  readonly #keys = new KeyArena()
  #firstBlock = new Int32Array(INITIAL_SLOTS)
  readonly #namespaces: string[] = []
  readonly #oddIds = new Map<string, number>()
  readonly #oddIdOf = new Map<number, string>()
  constructor() {
    this.#keys.resize(INITIAL_SLOTS)
  }

  #used = 0 // slots ever handed out (the high-water mark)
  #free = NONE
  #count = 0

  get count(): number {
    return this.#count
  }

  /** The slot of the object, or -1. */
  find(id: string): number {
    if (!isCanonical(id)) return this.#oddIds.get(id) ?? NONE
    for (let s = this.#buckets[hexHash(id) & (this.#buckets.length - 1)] as number; s !== NONE; s = this.#next[s] as number) {
      if (this.#idEquals(s, id)) return s
    }
    return NONE
  }

  /** A new slot for an object not in the table. */
  create(id: string): number {
    const slot = this.#allocate()
    this.#pinned[slot] = 0
    this.#ns[slot] = 0
    this.#keys.release(slot)
    this.#firstBlock[slot] = NONE
    if (isCanonical(id)) {
      this.#ids.write(id, slot * ID_BYTES, ID_BYTES, 'hex')
      const b = hexHash(id) & (this.#buckets.length - 1)
      this.#next[slot] = this.#buckets[b] as number
      this.#buckets[b] = slot
    } else {
      this.#oddIds.set(id, slot)
      this.#oddIdOf.set(slot, id)
    }
    this.#count++
    return slot
  }

  delete(slot: number): void {
    const odd = this.#oddIdOf.get(slot)
    if (odd !== undefined) {
      this.#oddIds.delete(odd)
      this.#oddIdOf.delete(slot)
    } else {
      const b = this.hashOf(slot) & (this.#buckets.length - 1)
      if (this.#buckets[b] === slot) this.#buckets[b] = this.#next[slot] as number
      else {
        let p = this.#buckets[b] as number
        while (this.#next[p] !== slot) p = this.#next[p] as number
        this.#next[p] = this.#next[slot] as number
      }
    }
    this.#keys.release(slot)
    this.#next[slot] = this.#free
    this.#free = slot
    this.#count--
  }

  idOf(slot: number): string {
    return this.#oddIdOf.get(slot) ?? this.#ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES)
  }

  /** The id's first 32 bits: ids are hashes, so these are well mixed. */
  hashOf(slot: number): number {
    const odd = this.#oddIdOf.get(slot)
    if (odd !== undefined) return fnv1a32(odd)
    const o = slot * ID_BYTES
    return (((this.#ids[o] as number) << 24) | ((this.#ids[o + 1] as number) << 16) | ((this.#ids[o + 2] as number) << 8) | (this.#ids[o + 3] as number)) >>> 0
  }

  entryOf(slot: number): CatalogEntry | undefined {
    const ns = this.#ns[slot] as number
    const key = ns === 0 ? undefined : this.#keys.get(slot)
    return key === undefined ? undefined : { ns: this.#namespaces[ns - 1] as string, key }
  }

  hasEntry(slot: number): boolean {
    return this.#ns[slot] !== 0 && this.#keys.has(slot)
  }

  setEntry(slot: number, entry: CatalogEntry): void {
    let ns = this.#namespaces.indexOf(entry.ns)
    if (ns < 0) ns = this.#namespaces.push(entry.ns) - 1
    this.#ns[slot] = ns + 1
    this.#keys.set(slot, entry.key)
  }

  pinned(slot: number): boolean {
    return this.#pinned[slot] === 1
  }

  setPinned(slot: number, pinned: boolean): void {
    this.#pinned[slot] = pinned ? 1 : 0
  }

  firstBlock(slot: number): number {
    return this.#firstBlock[slot] as number
  }

  setFirstBlock(slot: number, block: number): void {
    this.#firstBlock[slot] = block
  }

  /** Every live slot (slots freed while iterating are skipped; those created may be too). */
  *slots(): Generator<number> {
    for (let s = 0; s < this.#used; s++) if (this.#firstBlock[s] !== NONE) yield s
  }

  #idEquals(slot: number, id: string): boolean {
    const o = slot * ID_BYTES
    for (let i = 0; i < ID_BYTES; i++) if (this.#ids[o + i] !== hexByte(id, 2 * i)) return false
    return true
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const slot = this.#free
      this.#free = this.#next[slot] as number
      return slot
    }
    if (this.#used === this.#pinned.length) this.#grow()
    return this.#used++
  }

  #grow(): void {
    const n = growSize(this.#pinned.length)
    const ids = Buffer.alloc(n * ID_BYTES)
    this.#ids.copy(ids)
    this.#ids = ids
    this.#next = grow(this.#next, new Int32Array(n))
    this.#pinned = grow(this.#pinned, new Uint8Array(n))
    this.#ns = grow(this.#ns, new Uint16Array(n))
    this.#firstBlock = grow(this.#firstBlock, new Int32Array(n))
    this.#keys.resize(n)
    if (this.#buckets.length * 2 < n) this.#rehash(2 * this.#buckets.length)
    // The free list was threaded through #next; it is empty when the arrays grow.
    this.#free = NONE
  }

  /** Rebuilds the hash chains over `buckets` buckets (a power of two; chains stay ≤ 2 long on average). */
  #rehash(buckets: number): void {
    this.#buckets = new Int32Array(buckets).fill(NONE)
    for (let s = 0; s < this.#used; s++) {
      if (this.#oddIdOf.has(s)) continue // no block is linked to an object while it is created, so every slot is live
      const b = this.hashOf(s) & (buckets - 1)
      this.#next[s] = this.#buckets[b] as number
      this.#buckets[b] = s
    }
  }
}

/** Slot arrays grow by half: a cache's index stays within 1.5× of what it holds. */
export function growSize(n: number): number {
  return Math.ceil(n * 1.5)
}

/** 40 lowercase hex digits (as objectIdOf makes): kept as 20 bytes. A loop, not a RegExp: this runs on every lookup. */
export function isCanonical(id: string): boolean {
  if (id.length !== 2 * ID_BYTES) return false
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : c - 87
}

function hexByte(id: string, i: number): number {
  return (hexDigit(id.charCodeAt(i)) << 4) | hexDigit(id.charCodeAt(i + 1))
}

/** The first 8 hex digits as a uint32 (as hashOf gives from the bytes). */
function hexHash(id: string): number {
  return ((hexByte(id, 0) << 24) | (hexByte(id, 2) << 16) | (hexByte(id, 4) << 8) | hexByte(id, 6)) >>> 0
}
