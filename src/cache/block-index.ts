/**
 * The disk cache's in-memory index: which blocks are on disk, grouped by object,
 * with each block's size and when it was stored, which objects are pinned, and
 * the eviction policy over the unpinned blocks.
 *
 * Packed (docs/ARCHITECTURE.md, "The disk cache's index at scale"): objects and blocks
 * are slots in typed arrays (disk/object-table.ts, disk/block-table.ts), the policy
 * works on the same block slots (eviction/), so a block costs no JS object. A block
 * is named outside by its slot (`BlockRef`), valid until the block is removed: callers
 * use a ref at once, or look the block up again by address after an await.
 * INVARIANT: a block is in the policy exactly when its object is not pinned and it is
 * not `restoring`; usedBytes counts every block, pinnedBytes the blocks of pinned
 * objects, restoringBytes the unpinned blocks found at start and not yet ranked; the
 * policy's capacity is maxBytes − pinnedBytes.
 */
import type { CatalogEntry } from './object-catalog.js'
import { createSlotPolicy, type EvictionPolicy, type EvictionPolicyName } from './eviction/eviction-policy.js'
import { BlockTable } from './disk/block-table.js'
import { IndexViews } from './disk/index-views.js'
import { ObjectTable } from './disk/object-table.js'
import { grow } from './eviction/slot-queues.js'
import { rankByStoredAt } from './disk/rank-restored.js'

import type { CachedObject } from './disk/index-views.js'

export type { CachedObject } from './disk/index-views.js'

/** A block's slot in the index; valid until the block is removed. */
export type BlockRef = number

/** A block the policy chose and the index dropped. */
export interface RemovedBlock {
  readonly objectId: string
  readonly index: number
  readonly bytes: number
}

/** Flag of a block found at start that waits for finishRestore to be ranked. */
const RESTORING = 1

export class BlockIndex {
  readonly #objects = new ObjectTable()
  readonly #blocks = new BlockTable(this.#objects)
  /** Objects and blocks as the rest of the cache asks for them (views, entries, the snapshot's records). */
  readonly views = new IndexViews(this.#objects, this.#blocks)
  readonly #policy: EvictionPolicy<number>
  readonly #isPinned: (entry: CatalogEntry) => boolean
  #maxBytes: number
  #usedBytes = 0
  #pinnedBytes = 0
  #restoringBytes = 0
  #blockCount = 0
  #pinnedBlocks = 0
  /** Slots restored since the last finishRestore, in the order found (some may have left since). */
  #restored = new Int32Array(0)
  #restoredCount = 0

  /** `isPinned` tells, from an object's namespace and key, whether a pin covers it. */
  constructor(policy: EvictionPolicyName, maxBytes: number, isPinned: (entry: CatalogEntry) => boolean) {
    this.#policy = createSlotPolicy(policy, b => (this.#objects.hashOf(this.#blocks.objectOf(b)) ^ Math.imul(this.#blocks.indexOf(b) + 1, 0x9e3779b1)) >>> 0)
    this.#isPinned = isPinned
    this.#maxBytes = maxBytes
    this.#updateCapacity()
  }

  get policyName(): EvictionPolicyName {
    return this.#policy.name
  }

  get(objectId: string, index: number): BlockRef | undefined {
    const o = this.#objects.find(objectId)
    const b = o < 0 ? -1 : this.#blocks.find(o, index)
    return b < 0 ? undefined : b
  }

  object(objectId: string): CachedObject | undefined {
    return this.views.object(objectId)
  }

  objects(): Generator<CachedObject> {
    return this.views.objects()
  }

  /** Records a stored block (replacing an older record of it); returns its ref. */
  add(objectId: string, index: number, bytes: number, storedAtMs: number, preload = false, entry?: CatalogEntry): BlockRef {
    // The old record goes first: removing an object's last block forgets the object, and
    // the new block must join the object the index holds, not that forgotten one.
    const old = this.get(objectId, index)
    if (old !== undefined) this.remove(old)
    let o = this.#objects.find(objectId)
    if (o < 0) o = this.#objects.create(objectId)
    const b = this.#create(o, index, bytes, storedAtMs, entry, false)
    if (!this.#objects.pinned(this.#blocks.objectOf(b))) this.#policy.insert(b, bytes, preload)
    return b
  }

  /** A block found on disk at start (snapshot or scan), unless the index has it already: ranked by finishRestore. */
  restore(objectId: string, index: number, bytes: number, storedAtMs: number): void {
    let o = this.#objects.find(objectId)
    if (o >= 0 && this.#blocks.find(o, index) >= 0) return // stored or read since start: newer
    if (o < 0) o = this.#objects.create(objectId)
    const b = this.#create(o, index, bytes, storedAtMs, undefined, true)
    if (this.#blocks.flagsOf(b) !== RESTORING) return
    if (this.#restoredCount === this.#restored.length) this.#restored = grow(this.#restored, new Int32Array(Math.max(1024, 2 * this.#restoredCount)))
    this.#restored[this.#restoredCount++] = b
  }

  /**
   * Ranks the restored blocks still waiting, oldest stored first, below every block
   * stored or read since start (those are the most recent).
   */
  finishRestore(): void {
    const order = rankByStoredAt(this.#restored.subarray(0, this.#restoredCount), this.#blocks)
    for (let i = order.length - 1; i >= 0; i--) {
      const b = order[i] as number
      if (this.#blocks.flagsOf(b) !== RESTORING) continue // left since, or a slot listed twice
      this.#unrestore(b)
      this.#policy.insertOldest(b, this.#blocks.bytesOf(b))
    }
    this.#restored = new Int32Array(0)
    this.#restoredCount = 0
  }

  touch(b: BlockRef, preload = false): void {
    if (this.#objects.pinned(this.#blocks.objectOf(b))) return
    if (this.#blocks.flagsOf(b) === RESTORING) {
      this.#unrestore(b) // read since start: ranks with the new blocks
      this.#policy.insert(b, this.#blocks.bytesOf(b), preload)
    } else this.#policy.access(b, preload)
  }

  remove(b: BlockRef): void {
    if (!this.#blocks.live(b)) return
    const o = this.#blocks.objectOf(b)
    const bytes = this.#blocks.bytesOf(b)
    this.#usedBytes -= bytes
    this.#blockCount--
    if (this.#objects.pinned(o)) {
      this.#pinnedBytes -= bytes
      this.#pinnedBlocks--
      this.#updateCapacity()
    } else if (this.#blocks.flagsOf(b) === RESTORING) this.#unrestore(b)
    else this.#policy.remove(b)
    this.#blocks.delete(b)
    if (this.#objects.firstBlock(o) < 0) this.#objects.delete(o)
  }

  /** Gives an object its catalog entry (namespace and key), which decides whether it is pinned. */
  attach(objectId: string, entry: CatalogEntry): void {
    const o = this.#objects.find(objectId)
    if (o >= 0) this.#attach(o, entry)
  }

  /** Re-evaluates every object's pin after the rules changed. */
  reapplyPins(): void {
    for (const o of this.#objects.slots()) {
      const entry = this.#objects.entryOf(o)
      this.#setPinned(o, entry !== undefined && this.#isPinned(entry))
    }
  }

  /** The policy's next victim, already removed from the index; undefined when only pinned blocks remain. */
  victim(): RemovedBlock | undefined {
    const b = this.#policy.evict()
    if (b === undefined) return undefined
    const removed = { objectId: this.objectIdOf(b), index: this.#blocks.indexOf(b), bytes: this.#blocks.bytesOf(b) }
    this.remove(b)
    return removed
  }

  /** Whether the blocks the policy can rank exceed the bound (restored blocks wait for finishRestore). */
  get overBound(): boolean {
    return this.#usedBytes - this.#restoringBytes > this.#maxBytes
  }

  objectIdOf(b: BlockRef): string {
    return this.#objects.idOf(this.#blocks.objectOf(b))
  }

  indexOf(b: BlockRef): number {
    return this.#blocks.indexOf(b)
  }

  bytesOf(b: BlockRef): number {
    return this.#blocks.bytesOf(b)
  }

  /** When the block was fetched (file mtime after a restart): the start of its TTL. */
  storedAtOf(b: BlockRef): number {
    return this.#blocks.storedAtOf(b)
  }

  pinnedOf(b: BlockRef): boolean {
    return this.#objects.pinned(this.#blocks.objectOf(b))
  }

  entryOf(b: BlockRef): CatalogEntry | undefined {
    return this.#objects.entryOf(this.#blocks.objectOf(b))
  }

  setMaxBytes(bytes: number): void {
    this.#maxBytes = bytes
    this.#updateCapacity()
  }

  get maxBytes(): number {
    return this.#maxBytes
  }

  get usedBytes(): number {
    return this.#usedBytes
  }

  get pinnedBytes(): number {
    return this.#pinnedBytes
  }

  get pinnedBlocks(): number {
    return this.#pinnedBlocks
  }

  get blocks(): number {
    return this.#blockCount
  }

  get objectCount(): number {
    return this.#objects.count
  }

  #create(o: number, index: number, bytes: number, storedAtMs: number, entry: CatalogEntry | undefined, restoring: boolean): BlockRef {
    const pinned = this.#objects.pinned(o)
    const b = this.#blocks.create(o, index, bytes, storedAtMs, restoring && !pinned ? RESTORING : 0)
    this.#usedBytes += bytes
    this.#blockCount++
    if (pinned) {
      this.#pinnedBytes += bytes
      this.#pinnedBlocks++
      this.#updateCapacity()
    } else if (restoring) this.#restoringBytes += bytes
    // Attached after the block is counted, so a pin it brings moves this block too.
    if (entry !== undefined && !this.#objects.hasEntry(o)) this.#attach(o, entry)
    return b
  }

  #attach(o: number, entry: CatalogEntry): void {
    this.#objects.setEntry(o, entry)
    this.#setPinned(o, this.#isPinned(entry))
  }

  /** Pins or unpins an object's blocks: pinned blocks leave the policy (or the restored set), unpinned ones join it. */
  #setPinned(o: number, pinned: boolean): void {
    if (this.#objects.pinned(o) === pinned) return
    this.#objects.setPinned(o, pinned)
    let bytes = 0
    const blocks = this.#blocks.blocksOf(o)
    for (const b of blocks) {
      bytes += this.#blocks.bytesOf(b)
      if (!pinned) this.#policy.insert(b, this.#blocks.bytesOf(b))
      else if (this.#blocks.flagsOf(b) === RESTORING) this.#unrestore(b)
      else this.#policy.remove(b)
    }
    this.#pinnedBytes += pinned ? bytes : -bytes
    this.#pinnedBlocks += pinned ? blocks.length : -blocks.length
    this.#updateCapacity()
  }

  #unrestore(b: BlockRef): void {
    this.#blocks.setFlags(b, 0)
    this.#restoringBytes -= this.#blocks.bytesOf(b)
  }

  #updateCapacity(): void {
    this.#policy.setCapacity(this.#maxBytes - this.#pinnedBytes)
  }
}
