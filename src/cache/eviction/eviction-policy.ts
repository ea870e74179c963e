/**
 * What DiskBlockCache asks when it must make room: the eviction policy sees
 * blocks enter, get read and leave, and names the next one to evict. Pinned
 * blocks are never shown to a policy, so everything it holds is evictable.
 *
 * Two policies implement it: `lru` (LruPolicy) and `scan-resistant`
 * (S3FifoPolicy, the default; why, in its header and in docs/SEMANTICS.md).
 * Both work on integer slots (the BlockIndex's block slots), in typed arrays;
 * `createEvictionPolicy` wraps one for keys of any type (KeyedPolicy), which is
 * how the policies are tested and simulated.
 */
import { ConfigError } from '../../errors.js'
import { KeyedPolicy } from './keyed-policy.js'
import { LruPolicy } from './lru-policy.js'
import { S3FifoPolicy } from './s3-fifo-policy.js'

export const EVICTION_POLICIES = ['lru', 'scan-resistant'] as const
export type EvictionPolicyName = (typeof EVICTION_POLICIES)[number]

export interface EvictionPolicy<K> {
  readonly name: EvictionPolicyName
  /** Bytes the policy manages: the cache bound minus pinned bytes. */
  setCapacity(bytes: number): void
  /**
   * A block entered the cache. `preload` marks an operator's explicit load
   * (`s3cachefs load`): the policy keeps it as if it had proven itself.
   */
  insert(key: K, bytes: number, preload?: boolean): void
  /** A block found on disk at start: it ranks below every block the policy holds (it is evicted first). */
  insertOldest(key: K, bytes: number): void
  /** A cached block was read (or loaded again). */
  access(key: K, preload?: boolean): void
  /** The block left the cache for another reason (freed, expired, pinned, corrupt). */
  remove(key: K): void
  /** Chooses the next block to evict and forgets it; undefined when it holds none. */
  evict(): K | undefined
  /** Blocks and bytes held. */
  readonly size: number
  readonly bytes: number
}

/**
 * A policy over dense non-negative integer slots (memory grows with the largest slot).
 * `hashOf` gives a well-mixed 32-bit hash of a slot's block (the frequency sketch needs one).
 */
export function createSlotPolicy(name: EvictionPolicyName, hashOf: (slot: number) => number): EvictionPolicy<number> {
  switch (name) {
    case 'lru':
      return new LruPolicy()
    case 'scan-resistant':
      return new S3FifoPolicy(hashOf)
  }
}

/** A policy over keys of any type (each key is given a slot while held). */
export function createEvictionPolicy<K>(name: EvictionPolicyName, hashOf: (key: K) => number): EvictionPolicy<K> {
  return new KeyedPolicy<K>(slotHash => createSlotPolicy(name, slotHash), hashOf)
}

export function parseEvictionPolicy(text: string, flag: string): EvictionPolicyName {
  if ((EVICTION_POLICIES as readonly string[]).includes(text)) return text as EvictionPolicyName
  throw new ConfigError(`${flag}: must be one of ${EVICTION_POLICIES.join(', ')} (got '${text}')`)
}
