/**
 * What the metadata layer knows, and nothing about how it found out (metadata-store.ts asks
 * the store): the stat cache (path → entry or "absent", with TTL, bounded in entries), the
 * listing cache (directory → children, bounded in total children), which directories were
 * listed before (for re-listing after the TTL) and which are too large to list for a lookup.
 * Every change made through the mount goes through here, so the two caches agree.
 */
import { LRUCache } from 'lru-cache'
import { NotFoundError } from '../errors.js'
import type { DirListing, Entry } from './entry.js'
import type { MetadataConfig } from './metadata-config.js'
import { baseName, isRoot, joinPath, parentOf, pathToPrefix } from './paths.js'
import { TtlCache, type Clock } from './ttl-cache.js'

/** Directories remembered as listed before (path → children), for re-listing: ~100 B each. */
const LISTED_DIRS_REMEMBERED = 100_000

export const ABSENT = Object.freeze({ absent: true as const })
export type Cached = Entry | typeof ABSENT

/** The entry, or NotFoundError for ABSENT. */
export function unwrap(path: string, cached: Cached): Entry {
  if ('absent' in cached) throw new NotFoundError(`${path}: no such file or directory`)
  return cached
}

export class MetadataCaches {
  readonly #config: MetadataConfig
  readonly #clock: Clock
  readonly #entries: TtlCache<Cached>
  readonly #listings: TtlCache<DirListing>
  readonly #listedDirs = new LRUCache<string, number>({ max: LISTED_DIRS_REMEMBERED })
  /** Directories too large to list for one lookup. */
  readonly #largeDirs = new LRUCache<string, true>({ max: LISTED_DIRS_REMEMBERED })

  constructor(config: MetadataConfig, clock: Clock) {
    this.#config = config
    this.#clock = clock
    const staleMs = config.staleIfErrorMs ?? 0
    this.#entries = new TtlCache<Cached>({ maxWeight: config.maxEntries, clock, staleMs })
    this.#listings = new TtlCache<DirListing>({
      maxWeight: config.maxListedChildren, clock, weightOf: l => l.children.size, staleMs,
    })
  }

  /** The fresh stat-cache entry of `path` (or ABSENT), if any. */
  entry(path: string): Cached | undefined {
    return this.#entries.get(path)
  }

  /** The fresh listing of the directory `path`, if any. */
  listing(path: string): DirListing | undefined {
    return this.#listings.get(path)
  }

  /** The listing of `path` even if expired, within the stale-if-error window. */
  staleListing(path: string): DirListing | undefined {
    return this.#listings.getStale(path)
  }

  /** What was known of `path` before its TTL ran out: its own entry, its own listing (a directory), or its parent's listing. */
  staleEntry(path: string, dirMtimeMs: number): Cached | undefined {
    const own = this.#entries.getStale(path)
    if (own !== undefined) return own
    if (this.#listings.getStale(path) !== undefined) return { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: dirMtimeMs }
    const parent = this.#listings.getStale(parentOf(path))
    return parent === undefined ? undefined : parent.children.get(baseName(path)) ?? ABSENT
  }

  /** How many children `path` had when last listed, if it was listed before. */
  listedBefore(path: string): number | undefined {
    return this.#listedDirs.get(path)
  }

  isLarge(path: string): boolean {
    return this.#largeDirs.get(path) !== undefined
  }

  markLarge(path: string): void {
    this.#largeDirs.set(path, true)
  }

  /** Subdirectories of `path` per its cached listing; undefined when not listed (or expired). */
  subdirCount(path: string): number | undefined {
    const listing = this.#listings.get(path)
    if (listing === undefined) return undefined
    let n = 0
    for (const child of listing.children.values()) if (child.kind === 'dir') n++
    return n
  }

  remember(path: string, value: Cached): void {
    this.#entries.set(path, value, 'absent' in value ? this.#config.negativeTtlMs : this.#config.ttlMs)
  }

  /** Entries seen on the first pages of a directory too large to list in full. */
  rememberSeen(dir: string, seen: Iterable<readonly [string, Entry]>): void {
    for (const [name, entry] of seen) this.remember(joinPath(dir, name), entry)
  }

  /** A complete listing of `path`, trusted for `ttlMs`; its children answer lookups from now on. */
  storeListing(path: string, listing: DirListing, ttlMs: number): void {
    this.#listings.set(path, listing, ttlMs)
    this.#listedDirs.set(path, listing.children.size)
    for (const [name, entry] of listing.children) this.#entries.set(joinPath(path, name), entry, ttlMs)
  }

  /** A directory made through the mount: empty, so its listing is known (unless one is cached). */
  storeEmptyListing(path: string): void {
    if (this.#listings.get(path) !== undefined) return
    this.#listings.set(path, { children: new Map(), listedAtMs: this.#clock() }, this.#config.ttlMs)
    this.#listedDirs.set(path, 0)
  }

  /** A new or changed child (written, attributes read or changed through the mount). */
  noteChild(path: string, entry: Entry): void {
    this.remember(path, entry)
    this.#listings.get(parentOf(path))?.children.set(baseName(path), entry)
  }

  /** `path` was removed through the mount. */
  noteRemoved(path: string): void {
    this.#entries.set(path, ABSENT, this.#config.negativeTtlMs)
    this.#listings.delete(path)
    this.#listings.get(parentOf(path))?.children.delete(baseName(path))
  }

  /**
   * Forgets everything known at or below `path` (the root included) and returns the
   * directories whose listings were cached there. With `keepStale`, what was known is
   * only expired: stale-if-error may still serve it.
   */
  invalidatePrefix(path: string, keepStale: boolean): string[] {
    const below = (p: string) => isRoot(path) || p === path || p.startsWith(path + '/')
    const listed = this.#listings.keys().filter(below)
    if (keepStale) {
      this.#entries.expireWhere(below)
      this.#listings.expireWhere(below)
    } else {
      this.#entries.deleteWhere(below)
      this.#listings.deleteWhere(below)
    }
    return listed
  }

  /** Forgets the stat-cache entry of `path` only. */
  forgetEntry(path: string): void {
    this.#entries.delete(path)
  }

  /** Forgets the listing of the directory `path` only. */
  forgetListing(path: string): void {
    this.#listings.delete(path)
  }

  /** Forgets what is known about `path`, its listing and its parent's. */
  invalidate(path: string): void {
    this.#entries.delete(path)
    this.#listings.delete(path)
    this.#listings.delete(parentOf(path))
  }
}
