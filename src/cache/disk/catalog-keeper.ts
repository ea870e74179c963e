/**
 * Keeps the object catalog (objects.jsonl: objectId → namespace and key) in step with
 * the index: an object's line is written once, before its first block, so every block
 * on disk can be pinned or freed by path; blocks cached before the catalog existed
 * learn their key when read; the file is rewritten once most of its lines name
 * objects that are gone.
 */
import type { Logger } from 'pino'
import type { BlockIndex, BlockRef } from '../block-index.js'
import type { CatalogEntry, ObjectCatalog } from '../object-catalog.js'
import type { BlockAddress } from './disk-cache-types.js'

/** Catalog lines beyond twice the live objects tolerated before rewriting it. */
const CATALOG_COMPACT_SLACK_LINES = 100_000

export class CatalogKeeper {
  readonly #catalog: ObjectCatalog
  readonly #index: BlockIndex
  readonly #ns: string
  readonly #log: Logger

  constructor(catalog: ObjectCatalog, index: BlockIndex, ns: string, log: Logger) {
    this.#catalog = catalog
    this.#index = index
    this.#ns = ns
    this.#log = log
  }

  /** The object's catalog line, written once per object before its first block. */
  entryFor(addr: BlockAddress): { entry: CatalogEntry; written: Promise<void> } | undefined {
    if (addr.key === undefined) return undefined
    const known = this.#index.views.objectEntry(addr.objectId)
    if (known !== undefined) return { entry: known, written: Promise.resolve() }
    return this.#catalog.ensure(addr.objectId, { ns: this.#ns, key: addr.key })
  }

  /** The object's first block is stored or failed: its line is no longer pending. */
  settle(objectId: string): void {
    this.#catalog.settle(objectId)
  }

  /** A block read from disk whose object has no key yet learns it (blocks cached before the catalog existed). */
  learn(b: BlockRef, addr: BlockAddress): void {
    if (this.#index.entryOf(b) !== undefined || this.#catalog.isUnsettled(addr.objectId)) return
    const c = this.entryFor(addr)
    c?.written.then(
      () => {
        this.#index.attach(addr.objectId, c.entry)
        this.#catalog.settle(addr.objectId)
      },
      () => {},
    )
  }

  /** Rewrites the catalog once most of its lines name objects that are gone; O(1) when it need not. */
  compactIfBloated(): void {
    // The index's object count bounds the live lines from above.
    const live = this.#index.objectCount + this.#catalog.unsettledCount
    if (this.#catalog.appendedLines < 2 * live + CATALOG_COMPACT_SLACK_LINES) return
    this.compact().catch((err: unknown) => this.#log.warn({ err }, 'cache catalog compaction failed'))
  }

  compact(): Promise<void> {
    return this.#catalog.compact(this.#live())
  }

  /** Gives the objects the index holds their entries from the journal (the rest of it is not kept). */
  attachAll(): Promise<void> {
    return this.#catalog.forEach((id, entry) => this.#index.attach(id, entry))
  }

  close(): Promise<void> {
    return this.#catalog.close()
  }

  /** Catalog entries worth keeping: objects with blocks, and those whose first block is being written. */
  *#live(): Generator<[string, CatalogEntry]> {
    yield* this.#index.views.entries()
    yield* this.#catalog.unsettled()
  }
}
