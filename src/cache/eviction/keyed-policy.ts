/**
 * A slot policy (LruPolicy, S3FifoPolicy) for keys of any type: each key held gets a
 * slot from a free list, and gives it back when it leaves. The disk cache does not
 * need this (its BlockIndex hands the policy its own block slots); simulations and
 * tests of the policies on arbitrary keys do.
 */
import type { EvictionPolicy, EvictionPolicyName } from './eviction-policy.js'

export class KeyedPolicy<K> implements EvictionPolicy<K> {
  readonly #inner: EvictionPolicy<number>
  readonly #slots = new Map<K, number>()
  readonly #keys: Array<K | undefined> = []
  readonly #free: number[] = []

  constructor(make: (slotHash: (slot: number) => number) => EvictionPolicy<number>, hashOf: (key: K) => number) {
    this.#inner = make(slot => hashOf(this.#keys[slot] as K))
  }

  get name(): EvictionPolicyName {
    return this.#inner.name
  }

  setCapacity(bytes: number): void {
    this.#inner.setCapacity(bytes)
  }

  insert(key: K, bytes: number, preload?: boolean): void {
    this.#inner.insert(this.#slotOf(key), bytes, preload)
  }

  insertOldest(key: K, bytes: number): void {
    this.#inner.insertOldest(this.#slotOf(key), bytes)
  }

  access(key: K, preload?: boolean): void {
    const slot = this.#slots.get(key)
    if (slot !== undefined) this.#inner.access(slot, preload)
  }

  remove(key: K): void {
    const slot = this.#slots.get(key)
    if (slot === undefined) return
    this.#inner.remove(slot)
    this.#release(key, slot)
  }

  evict(): K | undefined {
    const slot = this.#inner.evict()
    if (slot === undefined) return undefined
    const key = this.#keys[slot] as K
    this.#release(key, slot)
    return key
  }

  get size(): number {
    return this.#inner.size
  }

  get bytes(): number {
    return this.#inner.bytes
  }

  #slotOf(key: K): number {
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#keys.length
      this.#slots.set(key, slot)
      this.#keys[slot] = key
    }
    return slot
  }

  #release(key: K, slot: number): void {
    this.#slots.delete(key)
    this.#keys[slot] = undefined
    this.#free.push(slot)
  }
}
