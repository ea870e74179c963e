/**
 * The shared listing manifest: directory listings kept in the coordinator (Redis) for
 * the metadata TTL, so N nodes mounting one dataset send about one set of LISTs, not N.
 *
 * One value per directory: `manifest:<h(source)>:<h(path)>` → JSON {listedAtMs, children},
 * written with an expiry of the TTL (from the LIST), read by MetadataStore before it
 * lists (src/metadata/metadata-store.ts decides what to trust: only what is left of the
 * TTL, and for a name it does not find, a listing younger than the negative TTL).
 * Writes through a mount and `refresh` delete the directories they touch.
 * Every failure is a miss or a write not made (RedisCoordinator answers neutrally).
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { entryOf, rowOf, type EntryRow } from '../metadata/entry.js'
import type { ListingManifest, SharedListing } from '../metadata/listing-manifest.js'
import type { RedisCoordinator } from './redis-coordinator.js'

/** Manifest entries kept when the metadata TTL is indefinite: a day, so an abandoned dataset goes. */
const INDEFINITE_TTL_MS = 24 * 3600 * 1000

type Row = EntryRow

interface Stored {
  readonly listedAtMs: number
  readonly rows: Row[]
}

export interface ManifestStats {
  readonly hits: number
  readonly misses: number
  readonly puts: number
}

export class SharedListingManifest implements ListingManifest {
  readonly #coordinator: RedisCoordinator
  readonly #namespace: string
  readonly #log: Logger
  #hits = 0
  #misses = 0
  #puts = 0

  /** `source` names the dataset (endpoint, bucket, prefix): nodes share listings only within it. */
  constructor(coordinator: RedisCoordinator, source: string, log: Logger) {
    this.#coordinator = coordinator
    this.#namespace = digest(source)
    this.#log = log
  }

  async get(path: string): Promise<SharedListing | undefined> {
    const text = await this.#coordinator.getText(this.#keyOf(path))
    if (text === undefined) {
      this.#misses++
      return undefined
    }
    try {
      const stored = JSON.parse(text) as Stored
      const children = stored.rows.map(row => [row[0], entryOf(row)] as const)
      this.#hits++
      return { listedAtMs: stored.listedAtMs, children }
    } catch (err) {
      this.#misses++
      this.#log.warn({ err, path }, 'unreadable listing in the manifest; listing the directory')
      return undefined
    }
  }

  put(path: string, listing: SharedListing, ttlMs: number): void {
    const stored: Stored = { listedAtMs: listing.listedAtMs, rows: listing.children.map(([name, e]) => rowOf(name, e)) }
    const ttl = Number.isFinite(ttlMs) ? ttlMs : INDEFINITE_TTL_MS
    this.#puts++
    this.#coordinator.setText(this.#keyOf(path), JSON.stringify(stored), ttl).catch(() => {})
  }

  forget(paths: readonly string[]): void {
    this.#coordinator.deleteKeys([...new Set(paths)].map(p => this.#keyOf(p))).catch(() => {})
  }

  stats(): ManifestStats {
    return { hits: this.#hits, misses: this.#misses, puts: this.#puts }
  }

  #keyOf(path: string): string {
    return `manifest:${this.#namespace}:${digest(path)}`
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}
