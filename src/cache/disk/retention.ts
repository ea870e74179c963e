/**
 * What stays in the disk cache and for how long, apart from eviction: TTLs (the
 * default `--cache-ttl` and per-path rules from `s3cachefs ttl`), pins (a pinned
 * object never expires and is never evicted), and drops by `s3cachefs free`.
 * Expired blocks are dropped when touched and by a periodic sweep. Listeners hear of
 * every block dropped here, so no other tier serves it on.
 */
import type { Logger } from 'pino'
import type { BlockEntry, BlockIndex, CachedObject } from '../block-index.js'
import { type CacheRules, matches, type RuleTarget } from '../cache-rules.js'
import type { BlockFiles } from './block-files.js'
import type { BlockAddress, DropReason } from './disk-cache-types.js'

export interface RetentionDeps {
  readonly index: BlockIndex
  readonly rules: CacheRules
  readonly files: Pick<BlockFiles, 'unlink'>
  /** The mount's namespace id, as used in rules. */
  readonly ns: string
  readonly defaultTtlMs: number
  readonly clock: () => number
  readonly log: Logger
}

/** Objects between yields to the event loop in a sweep. */
const SWEEP_SLICE_OBJECTS = 10_000

export class CacheRetention {
  readonly #d: RetentionDeps
  readonly #listeners: Array<(objectId: string, index: number) => void> = []
  #ttlDropped = 0
  #ttlDroppedBytes = 0
  #freed = 0
  #freedBytes = 0

  constructor(deps: RetentionDeps) {
    this.#d = deps
  }

  /** Whether any TTL applies (otherwise readers skip the expiry check). */
  get active(): boolean {
    return this.#d.defaultTtlMs !== Infinity || this.#d.rules.hasTtls
  }

  /** Calls `listener` whenever a block is dropped by `free` or a TTL (not by eviction). */
  onDrop(listener: (objectId: string, index: number) => void): void {
    this.#listeners.push(listener)
  }

  /** Drops the block if it outlived its TTL; true when it did (the caller treats it as a miss). */
  expireIfStale(addr: BlockAddress): boolean {
    if (!this.active) return false
    const b = this.#d.index.get(addr.objectId, addr.index)
    if (b === undefined || b.storedAtMs + this.ttlOf(b.object) > this.#d.clock()) return false
    this.drop(b, 'expired')
    return true
  }

  /** When a block may be served until (ms since the epoch): from when it was stored if on disk, else from now. */
  deadlineOf(addr: BlockAddress): number {
    if (!this.active) return Infinity
    const b = this.#d.index.get(addr.objectId, addr.index)
    if (b !== undefined) return b.storedAtMs + this.ttlOf(b.object)
    const pinned = addr.key !== undefined && this.#d.rules.isPinned(this.#d.ns, addr.key)
    return pinned ? Infinity : this.#d.clock() + (addr.key === undefined ? this.#d.defaultTtlMs : this.#ruleTtl(this.#d.ns, addr.key))
  }

  /** How long the object's blocks stay cached: pinned forever, else the most specific TTL rule or the default. */
  ttlOf(obj: CachedObject): number {
    if (obj.pinned) return Infinity
    return obj.entry === undefined ? this.#d.defaultTtlMs : this.#ruleTtl(obj.entry.ns, obj.entry.key)
  }

  /** Cached objects of this mount that `target` names (by their catalog key). */
  objectsUnder(target: RuleTarget): CachedObject[] {
    const out: CachedObject[] = []
    for (const obj of this.#d.index.objects()) if (obj.entry !== undefined && matches(target, obj.entry.ns, obj.entry.key)) out.push(obj)
    return out
  }

  /** Drops every block of `obj`; returns the bytes freed. */
  dropObject(obj: CachedObject, reason: DropReason): number {
    let bytes = 0
    for (const b of [...obj.blocks])
      if (b !== undefined) {
        bytes += b.bytes
        this.drop(b, reason)
      }
    return bytes
  }

  /** Drops every block older than its TTL, yielding to the event loop between slices. */
  async sweepExpired(): Promise<{ blocks: number; bytes: number }> {
    const now = this.#d.clock()
    let blocks = 0
    let bytes = 0
    let seen = 0
    for (const obj of [...this.#d.index.objects()]) {
      const ttl = this.ttlOf(obj)
      if (ttl !== Infinity) {
        for (const b of [...obj.blocks]) {
          if (b !== undefined && b.storedAtMs + ttl <= now) {
            blocks++
            bytes += b.bytes
            this.drop(b, 'expired')
          }
        }
      }
      if (++seen % SWEEP_SLICE_OBJECTS === 0) await new Promise(r => setImmediate(r))
    }
    if (blocks > 0) this.#d.log.info({ blocks, bytes }, 'dropped cached blocks past their TTL')
    return { blocks, bytes }
  }

  drop(b: BlockEntry, reason: DropReason): void {
    this.#d.index.remove(b)
    if (reason === 'expired') {
      this.#ttlDropped++
      this.#ttlDroppedBytes += b.bytes
    } else {
      this.#freed++
      this.#freedBytes += b.bytes
    }
    this.#d.files.unlink({ objectId: b.object.id, index: b.index })
    for (const l of this.#listeners) l(b.object.id, b.index)
  }

  stats(): { ttlDroppedBlocks: number; ttlDroppedBytes: number; freedBlocks: number; freedBytes: number } {
    return { ttlDroppedBlocks: this.#ttlDropped, ttlDroppedBytes: this.#ttlDroppedBytes, freedBlocks: this.#freed, freedBytes: this.#freedBytes }
  }

  /** The most specific TTL rule for the key, or the default. */
  #ruleTtl(ns: string, key: string): number {
    const rule = this.#d.rules.ttlFor(ns, key)
    return rule === null ? Infinity : (rule ?? this.#d.defaultTtlMs)
  }
}
