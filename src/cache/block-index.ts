/**
 * The disk cache's in-memory index: which blocks are on disk, grouped by object,
 * with each block's size and when it was stored, which objects are pinned, and
 * the eviction policy over the unpinned blocks.
 *
 * Memory is one small record per block and one per object (its id, and its key
 * when known from the catalog), proportional to what the bounded cache holds.
 * INVARIANT: a block is in the policy exactly when its object is not pinned;
 * usedBytes counts every block, pinnedBytes the blocks of pinned objects; the
 * policy's capacity is maxBytes − pinnedBytes.
 */
import type { CatalogEntry } from './object-catalog.js'
import { createEvictionPolicy, type EvictionPolicy, type EvictionPolicyName } from './eviction/eviction-policy.js'

export interface CachedObject {
  readonly id: string
  /** Namespace and key, when the catalog knows them. */
  entry: CatalogEntry | undefined
  pinned: boolean
  /** Sparse, by block index. */
  readonly blocks: Array<BlockEntry | undefined>
  blockCount: number
  bytes: number
  readonly hash: number
}

export interface BlockEntry {
  readonly object: CachedObject
  readonly index: number
  readonly bytes: number
  /** When the block was fetched (file mtime after a restart): the start of its TTL. */
  readonly storedAtMs: number
  readonly hash: number
}

export interface ScannedBlock {
  readonly objectId: string
  readonly index: number
  readonly bytes: number
  readonly mtimeMs: number
}

export class BlockIndex {
  readonly #objects = new Map<string, CachedObject>()
  readonly #policy: EvictionPolicy<BlockEntry>
  readonly #isPinned: (entry: CatalogEntry) => boolean
  #maxBytes: number
  #usedBytes = 0
  #pinnedBytes = 0
  #blocks = 0
  #pinnedBlocks = 0

  /** `isPinned` tells, from an object's namespace and key, whether a pin covers it. */
  constructor(policy: EvictionPolicyName, maxBytes: number, isPinned: (entry: CatalogEntry) => boolean) {
    this.#policy = createEvictionPolicy<BlockEntry>(policy, b => b.hash)
    this.#isPinned = isPinned
    this.#maxBytes = maxBytes
    this.#updateCapacity()
  }

  get policyName(): EvictionPolicyName {
    return this.#policy.name
  }

  get(objectId: string, index: number): BlockEntry | undefined {
    return this.#objects.get(objectId)?.blocks[index]
  }

  object(objectId: string): CachedObject | undefined {
    return this.#objects.get(objectId)
  }

  objects(): IterableIterator<CachedObject> {
    return this.#objects.values()
  }

  /** Records a stored block (replacing an older record of it); returns its entry. */
  add(objectId: string, index: number, bytes: number, storedAtMs: number, preload = false, entry?: CatalogEntry): BlockEntry {
    // The old record goes first: removing an object's last block forgets the object, and
    // the new block must join the object the index holds, not that forgotten one.
    const old = this.get(objectId, index)
    if (old !== undefined) this.remove(old)
    const obj = this.#objectOf(objectId)
    if (obj.entry === undefined && entry !== undefined) this.attach(obj, entry)
    const b: BlockEntry = { object: obj, index, bytes, storedAtMs, hash: (obj.hash ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 }
    obj.blocks[index] = b
    obj.blockCount++
    obj.bytes += bytes
    this.#usedBytes += bytes
    this.#blocks++
    if (obj.pinned) {
      this.#pinnedBytes += bytes
      this.#pinnedBlocks++
      this.#updateCapacity()
    } else {
      this.#policy.insert(b, bytes, preload)
    }
    return b
  }

  touch(b: BlockEntry, preload = false): void {
    if (!b.object.pinned) this.#policy.access(b, preload)
  }

  remove(b: BlockEntry): void {
    const obj = b.object
    if (obj.blocks[b.index] !== b) return
    obj.blocks[b.index] = undefined
    obj.blockCount--
    obj.bytes -= b.bytes
    this.#usedBytes -= b.bytes
    this.#blocks--
    if (obj.pinned) {
      this.#pinnedBytes -= b.bytes
      this.#pinnedBlocks--
      this.#updateCapacity()
    } else {
      this.#policy.remove(b)
    }
    if (obj.blockCount === 0) {
      obj.blocks.length = 0
      this.#objects.delete(obj.id)
    }
  }

  /** Gives an object its catalog entry (namespace and key), which decides whether it is pinned. */
  attach(obj: CachedObject, entry: CatalogEntry): void {
    obj.entry = entry
    this.setPinned(obj, this.#isPinned(entry))
  }

  /** Re-evaluates every object's pin after the rules changed. */
  reapplyPins(): void {
    for (const obj of this.#objects.values()) this.setPinned(obj, obj.entry !== undefined && this.#isPinned(obj.entry))
  }

  /** Pins or unpins an object's blocks: pinned blocks leave the policy, unpinned ones rejoin it. */
  setPinned(obj: CachedObject, pinned: boolean): void {
    if (obj.pinned === pinned) return
    obj.pinned = pinned
    for (const b of obj.blocks) {
      if (b === undefined) continue
      if (pinned) this.#policy.remove(b)
      else this.#policy.insert(b, b.bytes)
    }
    this.#pinnedBytes += pinned ? obj.bytes : -obj.bytes
    this.#pinnedBlocks += pinned ? obj.blockCount : -obj.blockCount
    this.#updateCapacity()
  }

  /** The policy's next victim, already removed from the index; undefined when only pinned blocks remain. */
  victim(): BlockEntry | undefined {
    const b = this.#policy.evict()
    if (b !== undefined) this.remove(b)
    return b
  }

  /**
   * Adds blocks found on disk at start, oldest first, ranking them below the
   * blocks already touched since start (those are the most recent).
   */
  restore(found: readonly ScannedBlock[], entries: ReadonlyMap<string, CatalogEntry>): void {
    const present: BlockEntry[] = []
    for (const obj of this.#objects.values()) for (const b of obj.blocks) if (b !== undefined && !obj.pinned) present.push(b)
    for (const b of present) this.#policy.remove(b)
    for (const f of found) {
      if (this.get(f.objectId, f.index) !== undefined) continue
      this.add(f.objectId, f.index, f.bytes, f.mtimeMs, false, entries.get(f.objectId))
    }
    for (const b of present) this.#policy.insert(b, b.bytes)
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
    return this.#blocks
  }

  get objectCount(): number {
    return this.#objects.size
  }

  #objectOf(objectId: string): CachedObject {
    let obj = this.#objects.get(objectId)
    if (obj === undefined) {
      obj = { id: objectId, entry: undefined, pinned: false, blocks: [], blockCount: 0, bytes: 0, hash: parseInt(objectId.slice(0, 8), 16) >>> 0 }
      this.#objects.set(objectId, obj)
    }
    return obj
  }

  #updateCapacity(): void {
    this.#policy.setCapacity(this.#maxBytes - this.#pinnedBytes)
  }
}
