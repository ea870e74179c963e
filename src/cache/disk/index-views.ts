/**
 * Reading the packed index (ObjectTable, BlockTable) the way the rest of the disk
 * cache asks: an object as a small view, the objects a path rule names, each object's
 * blocks for a TTL sweep, the catalog entries to keep, the snapshot's records. Views
 * are built only when asked for, never stored.
 */
import type { CatalogEntry } from '../object-catalog.js'
import type { BlockTable } from './block-table.js'
import type { ObjectTable } from './object-table.js'

/** A cached object as seen when asked for (a copy: it does not follow later changes). */
export interface CachedObject {
  readonly id: string
  /** Namespace and key, when the catalog knows them. */
  readonly entry: CatalogEntry | undefined
  readonly pinned: boolean
  /** Block slots, sparse, by block index. */
  readonly blocks: ReadonlyArray<number | undefined>
  readonly blockCount: number
  readonly bytes: number
}

export class IndexViews {
  readonly #objects: ObjectTable
  readonly #blocks: BlockTable

  constructor(objects: ObjectTable, blocks: BlockTable) {
    this.#objects = objects
    this.#blocks = blocks
  }

  object(objectId: string): CachedObject | undefined {
    const o = this.#objects.find(objectId)
    return o < 0 ? undefined : this.#view(o)
  }

  *objects(): Generator<CachedObject> {
    for (const o of this.#objects.slots()) yield this.#view(o)
  }

  /** The objects whose catalog entry passes `test` (views are built only for those). */
  objectsWhere(test: (entry: CatalogEntry) => boolean): CachedObject[] {
    const out: CachedObject[] = []
    for (const o of this.#objects.slots()) {
      const entry = this.#objects.entryOf(o)
      if (entry !== undefined && test(entry)) out.push(this.#view(o))
    }
    return out
  }

  /** Each object's pin, entry and block slots (valid until the generator resumes). */
  *objectBlocks(): Generator<{ readonly pinned: boolean; readonly entry: CatalogEntry | undefined; readonly blocks: readonly number[] }> {
    for (const o of this.#objects.slots()) yield { pinned: this.#objects.pinned(o), entry: this.#objects.entryOf(o), blocks: this.#blocks.blocksOf(o) }
  }

  objectEntry(objectId: string): CatalogEntry | undefined {
    const o = this.#objects.find(objectId)
    return o < 0 ? undefined : this.#objects.entryOf(o)
  }

  /** Every object's id and catalog entry, for those that have one. */
  *entries(): Generator<[string, CatalogEntry]> {
    for (const o of this.#objects.slots()) {
      const entry = this.#objects.entryOf(o)
      if (entry !== undefined) yield [this.#objects.idOf(o), entry]
    }
  }

  /** Every object's id and block slots, in no particular order (for the snapshot). */
  *allBlocks(): Generator<{ readonly objectId: string; readonly blocks: readonly number[] }> {
    for (const o of this.#objects.slots()) yield { objectId: this.#objects.idOf(o), blocks: this.#blocks.blocksOf(o) }
  }

  #view(o: number): CachedObject {
    const blocks: Array<number | undefined> = []
    const slots = this.#blocks.blocksOf(o)
    let bytes = 0
    for (const b of slots) {
      blocks[this.#blocks.indexOf(b)] = b
      bytes += this.#blocks.bytesOf(b)
    }
    return {
      id: this.#objects.idOf(o),
      entry: this.#objects.entryOf(o),
      pinned: this.#objects.pinned(o),
      blocks,
      blockCount: slots.length,
      bytes,
    }
  }
}
