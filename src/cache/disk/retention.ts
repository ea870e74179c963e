/**
 * What stays in the disk cache and for how long, apart from eviction: TTLs (the
 * default `--cache-ttl` and per-path rules from `s3cachefs ttl`), pins (a pinned
 * object never expires and is never evicted), and drops by `s3cachefs free`.
 * Expired blocks are dropped when touched and by a periodic sweep. Listeners hear of
 * every block dropped here, so no other tier serves it on.
 */
import type { Logger } from 'pino'
import type { BlockIndex, BlockRef, CachedObject } from '../block-index.js'
import type { CatalogEntry } from '../object-catalog.js'
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
    const ix = this.#d.index
    const b = ix.get(addr.objectId, addr.index)
    if (b === undefined || ix.storedAtOf(b) + this.#ttl(ix.pinnedOf(b), ix.entryOf(b)) > this.#d.clock()) return false
    this.drop(b, 'expired')
    return true
  }

  /** When a block may be served until (ms since the epoch): from when it was stored if on disk, else from now. */
  deadlineOf(addr: BlockAddress): number {
    if (!this.active) return Infinity
    const ix = this.#d.index
    const b = ix.get(addr.objectId, addr.index)
    if (b !== undefined) return ix.storedAtOf(b) + this.#ttl(ix.pinnedOf(b), ix.entryOf(b))
    const pinned = addr.key !== undefined && this.#d.rules.isPinned(this.#d.ns, addr.key)
    return pinned ? Infinity : this.#d.clock() + (addr.key === undefined ? this.#d.defaultTtlMs : this.#ruleTtl(this.#d.ns, addr.key))
  }

  /** How long the object's blocks stay cached: pinned forever, else the most specific TTL rule or the default. */
  ttlOf(obj: CachedObject): number {
    return this.#ttl(obj.pinned, obj.entry)
  }

  /** Cached objects of this mount that `target` names (by their catalog key). */
  objectsUnder(target: RuleTarget): CachedObject[] {
    return this.#d.index.views.objectsWhere(e => matches(target, e.ns, e.key))
  }

  /** Drops every block the object has now; returns the bytes freed. */
  dropObject(obj: CachedObject, reason: DropReason): number {
    let bytes = 0
    for (const b of this.#d.index.object(obj.id)?.blocks ?? [])
      if (b !== undefined) {
        bytes += this.#d.index.bytesOf(b)
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
    const ix = this.#d.index
    // Each object's blocks are handled before the generator resumes, so its refs are current.
    for (const obj of ix.views.objectBlocks()) {
      const ttl = this.#ttl(obj.pinned, obj.entry)
      if (ttl !== Infinity) {
        for (const b of obj.blocks) {
          if (ix.storedAtOf(b) + ttl <= now) {
            blocks++
            bytes += ix.bytesOf(b)
            this.drop(b, 'expired')
          }
        }
      }
      if (++seen % SWEEP_SLICE_OBJECTS === 0) await new Promise(r => setImmediate(r))
    }
    if (blocks > 0) this.#d.log.info({ blocks, bytes }, 'dropped cached blocks past their TTL')
    return { blocks, bytes }
  }

  drop(b: BlockRef, reason: DropReason): void {
    const ix = this.#d.index
    const objectId = ix.objectIdOf(b)
    const index = ix.indexOf(b)
    const bytes = ix.bytesOf(b)
    ix.remove(b)
    if (reason === 'expired') {
      this.#ttlDropped++
      this.#ttlDroppedBytes += bytes
    } else {
      this.#freed++
      this.#freedBytes += bytes
    }
    this.#d.files.unlink({ objectId, index })
    for (const l of this.#listeners) l(objectId, index)
  }

  stats(): { ttlDroppedBlocks: number; ttlDroppedBytes: number; freedBlocks: number; freedBytes: number } {
    return { ttlDroppedBlocks: this.#ttlDropped, ttlDroppedBytes: this.#ttlDroppedBytes, freedBlocks: this.#freed, freedBytes: this.#freedBytes }
  }

  /** How long an object's blocks stay cached: pinned forever, else the most specific TTL rule or the default. */
  #ttl(pinned: boolean, entry: CatalogEntry | undefined): number {
    if (pinned) return Infinity
    return entry === undefined ? this.#d.defaultTtlMs : this.#ruleTtl(entry.ns, entry.key)
  }

  /** The most specific TTL rule for the key, or the default. */
  #ruleTtl(ns: string, key: string): number {
    const rule = this.#d.rules.ttlFor(ns, key)
    return rule === null ? Infinity : (rule ?? this.#d.defaultTtlMs)
  }
}
