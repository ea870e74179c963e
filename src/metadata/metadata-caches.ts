/**
 * What the metadata layer knows, and nothing about how it found out (metadata-store.ts asks
 * the store): the stat cache (path → entry or "absent", with TTL, bounded in entries), the
 * listing cache (directory → children, bounded in total children), which directories were
 * listed before (for re-listing after the TTL) and which are too large to list for a lookup.
 * Every change made through the mount goes through here, so the two caches agree.
 *
 * INVARIANT (memory at scale): a child of a cached listing is not also in the stat cache.
 * Listings are packed (packed-children.ts, ~60 B per child); lookups answered from them
 * build an entry and keep nothing, and the stat cache holds only what no listing holds
 * (HEAD answers, "absent", changes through the mount). The first pages of a directory too
 * large to list in full are kept packed too, as partial listings that answer only names
 * they hold.
 */
import { LRUCache } from 'lru-cache'
import { NotFoundError } from '../errors.js'
import type { DirListing, Entry } from './entry.js'
import { PackedChildren } from './packed-children.js'
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

/**
 * Told of every change to what the caches answer for a path (not of LRU evictions: an
 * entry evicted was still true until its TTL). Whoever mirrors the answers (the FUSE
 * binding's table of known files, known-files.ts) forgets what a change touched.
 */
export interface MetadataChangeListener {
  /** What `path` itself resolves to changed. */
  entry(path: string): void
  /** What the children of the directory `dir` resolve to may have changed. */
  children(dir: string): void
  /** Anything may have changed. */
  all(): void
}

const NO_LISTENER: MetadataChangeListener = { entry: () => {}, children: () => {}, all: () => {} }

export class MetadataCaches {
  listener: MetadataChangeListener = NO_LISTENER
  readonly #config: MetadataConfig
  readonly #clock: Clock
  readonly #entries: TtlCache<Cached>
  readonly #listings: TtlCache<DirListing>
  /** First pages of directories too large to list for a lookup: present names only. */
  readonly #partials: TtlCache<PackedChildren>
  readonly #listedDirs = new LRUCache<string, number>({ max: LISTED_DIRS_REMEMBERED })
  /** Directories too large to list for one lookup. */
  readonly #largeDirs = new LRUCache<string, true>({ max: LISTED_DIRS_REMEMBERED })

  constructor(config: MetadataConfig, clock: Clock) {
    this.#config = config
    this.#clock = clock
    const staleMs = config.staleIfErrorMs ?? 0
    this.#entries = new TtlCache<Cached>({ maxWeight: config.maxEntries, clock, staleMs })
    this.#listings = new TtlCache<DirListing>({
      maxWeight: config.maxListedChildren,
      clock,
      weightOf: l => l.children.size,
      staleMs,
    })
    this.#partials = new TtlCache<PackedChildren>({ maxWeight: config.maxEntries, clock, weightOf: p => p.size })
  }

  /** The fresh stat-cache entry of `path` (or ABSENT), or its entry on a partial listing of its parent, if any. */
  entry(path: string): Cached | undefined {
    return this.#entries.get(path) ?? this.#partials.get(parentOf(path))?.get(baseName(path))
  }

  /** A present entry known now, from the stat cache or the parent's fresh listing (no request, no change). */
  known(path: string): Entry | undefined {
    const cached = this.entry(path) ?? this.listing(parentOf(path))?.children.get(baseName(path))
    return cached === undefined || 'absent' in cached ? undefined : cached
  }

  /** `known(path)` with the time its source (own entry, partial or full listing of the parent) expires. */
  knownUntil(path: string): { entry: Entry; untilMs: number } | undefined {
    const own = this.#entries.getWithExpiry(path)
    if (own !== undefined) return 'absent' in own.value ? undefined : { entry: own.value, untilMs: own.expiresAtMs }
    const parent = parentOf(path)
    const name = baseName(path)
    const partial = this.#partials.getWithExpiry(parent)
    const seen = partial?.value.get(name)
    if (partial !== undefined && seen !== undefined) return { entry: seen, untilMs: partial.expiresAtMs }
    const listing = this.#listings.getWithExpiry(parent)
    const child = listing?.value.children.get(name)
    return listing === undefined || child === undefined ? undefined : { entry: child, untilMs: listing.expiresAtMs }
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
    return parent === undefined ? undefined : (parent.children.get(baseName(path)) ?? ABSENT)
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
    if (listing.children instanceof PackedChildren) return listing.children.dirCount()
    let n = 0
    for (const child of listing.children.values()) if (child.kind === 'dir') n++
    return n
  }

  remember(path: string, value: Cached): void {
    this.listener.entry(path)
    this.#entries.set(path, value, 'absent' in value ? this.#config.negativeTtlMs : this.#config.ttlMs)
  }

  /** Entries seen on the first pages of a directory too large to list in full. */
  rememberSeen(dir: string, seen: Array<readonly [string, Entry]>): void {
    this.listener.children(dir)
    const sorted = seen.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const packed = PackedChildren.pack(pathToPrefix(dir), sorted)
    if (packed !== undefined) this.#partials.set(dir, packed, this.#config.ttlMs)
    else for (const [name, entry] of sorted) this.remember(joinPath(dir, name), entry)
  }

  /** A complete listing of `path`, trusted for `ttlMs`; its children answer lookups from now on. Returns it as cached. */
  storeListing(path: string, listing: DirListing, ttlMs: number): DirListing {
    this.listener.children(path)
    const packed = PackedChildren.pack(pathToPrefix(path), listing.children)
    const stored = packed === undefined ? listing : { children: packed, listedAtMs: listing.listedAtMs }
    this.#listings.set(path, stored, ttlMs)
    this.#listedDirs.set(path, stored.children.size)
    this.#partials.delete(path)
    // What the stat cache knew of these names is older than this listing.
    if (this.#entries.size > 0) for (const name of stored.children.keys()) this.#entries.delete(joinPath(path, name))
    return stored
  }

  /** A directory made through the mount: empty, so its listing is assumed (unless one is cached). */
  storeEmptyListing(path: string): void {
    if (this.#listings.get(path) !== undefined) return
    this.#listings.set(path, { children: new Map(), listedAtMs: this.#clock(), assumed: true }, this.#config.ttlMs)
    this.#listedDirs.set(path, 0)
  }

  /** A new or changed child (written, attributes read or changed through the mount). */
  noteChild(path: string, entry: Entry): void {
    this.remember(path, entry)
    this.#listings.get(parentOf(path))?.children.set(baseName(path), entry)
  }

  /** `path` was removed through the mount. */
  noteRemoved(path: string): void {
    this.listener.entry(path)
    this.listener.children(path)
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
    this.listener.all()
    const below = (p: string) => isRoot(path) || p === path || p.startsWith(path + '/')
    const listed = this.#listings.keys().filter(below)
    this.#partials.deleteWhere(below)
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
    this.listener.entry(path)
    this.#entries.delete(path)
    this.#partials.get(parentOf(path))?.delete(baseName(path))
  }

  /** Forgets the listing of the directory `path` only. */
  forgetListing(path: string): void {
    this.listener.children(path)
    this.#listings.delete(path)
  }

  /** Forgets what is known about `path`, its listing and its parent's. */
  invalidate(path: string): void {
    this.listener.children(path)
    this.listener.children(parentOf(path))
    this.forgetEntry(path)
    this.#listings.delete(path)
    this.#listings.delete(parentOf(path))
  }
}
