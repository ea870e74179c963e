/**
 * Answers "what is at this path?" and "what is in this directory?" from caches
 * filled by LIST pages, going to the store only on a miss.
 *
 * - A stat cache (path → entry, with TTL) and a negative cache (path → absent, with
 *   a shorter TTL), both bounded in entries.
 * - A listing cache (directory → children), bounded in total children. A fresh
 *   listing of the parent answers lookups of its children, present or absent, so
 *   `ls -l`, `find` and ImageFolder scans cost LIST pages and never one HEAD per entry.
 * - When a listing has expired, a lookup in a directory listed before lists it
 *   again (one LIST page per 1,000 children, shared by every lookup there) rather
 *   than paying a HEAD and a LIST per file: epochs longer than the TTL stay cheap.
 * - Path-first: a lookup in a directory never listed lists it once (shared by every
 *   concurrent lookup there) and answers its siblings from that listing, so a loader
 *   opening files by name from a manifest pays no HEAD per file. Only a directory of
 *   more than PATH_FIRST_MAX_PAGES pages is remembered as large; lookups there cost one
 *   HEAD and one LIST (max 1 key) in parallel. A name that is both an object and a
 *   prefix is a directory (the object is hidden), as documented in docs/SEMANTICS.md.
 * - Listing a directory starts listing its first subdirectories in the background
 *   (bounded), because `find`, `ls -R` and ImageFolder descend into them next.
 * - Stale-if-error (stale-if-error.ts): a lookup or listing whose refresh fails
 *   because the store is failing is answered from the expired entry, if it expired
 *   less than `staleIfErrorMs` ago; the version it names keeps its cached blocks.
 * Concurrent identical lookups and listings share one request (single-flight).
 * - With a shared listing manifest (`--coordinator`), a directory another node listed
 *   within the TTL is taken from it, with the TTL it has left, instead of LIST pages;
 *   complete listings go into it, and changes made through this mount or `refresh`
 *   remove the directories they touch from it.
 */
import { LRUCache } from 'lru-cache'
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import { NotADirectoryError, NotFoundError } from '../errors.js'
import type { ObjectClient, ObjectInfo } from '../s3/object-client.js'
import { SingleFlight } from '../util/single-flight.js'
import type { DirEntry, DirListing, Entry, FileEntry } from './entry.js'
import { baseName, isRepresentableName, isRoot, joinPath, parentOf, pathToKey, pathToPrefix } from './paths.js'
import { StaleIfError, type StaleIfErrorStats } from './stale-if-error.js'
import { TtlCache, type Clock } from './ttl-cache.js'
import { AttributeMemo } from './attribute-memo.js'
import { parseS3fsMetadata, type PosixAttributes } from './s3fs-attributes.js'

/** Listings shared between the nodes mounting one dataset (src/coord/shared-listing-manifest.ts). Never throws. */
export interface ListingManifest {
  /** The listing of `path` another node stored, or undefined. */
  get(path: string): Promise<SharedListing | undefined>
  /** Stores a complete listing for `ttlMs` (in the background). */
  put(path: string, listing: SharedListing, ttlMs: number): void
  /** Removes the listings of these directories (in the background). */
  forget(paths: readonly string[]): void
}

export interface SharedListing {
  readonly children: ReadonlyArray<readonly [string, Entry]>
  /** Wall-clock time of the LIST, so every node trusts it for what is left of the TTL only. */
  readonly listedAtMs: number
}

export interface MetadataConfig {
  /** How long a positive entry or listing is trusted; Infinity trusts forever. */
  readonly ttlMs: number
  /** How long "no such path" is trusted. */
  readonly negativeTtlMs: number
  /** Bound on cached path entries (positive and negative). */
  readonly maxEntries: number
  /** Bound on the total number of children held by cached listings. */
  readonly maxListedChildren: number
  /** How long past its TTL metadata may be served while the store fails (--stale-if-error); 0 or absent: never. */
  readonly staleIfErrorMs?: number
  /**
   * Read a file's or directory's s3fs headers with one HEAD on its first `stat` when no
   * listing or write told them (`--posix-metadata head`); off, they default until known.
   */
  readonly headForAttributes?: boolean
}

/** A directory with up to this many children is listed again to answer a lookup in it (≤ 5 pages). */
const RELIST_MAX_CHILDREN = 5000
/** A lookup lists a directory never listed if it takes at most this many LIST pages (10,000 entries). */
const PATH_FIRST_MAX_PAGES = 10
/** Directories remembered as listed before (path → children), for re-listing: ~100 B each. */
const LISTED_DIRS_REMEMBERED = 100_000
/**
 * Subdirectory listings started in the background after a readdir (ImageNet has 1,000 classes),
 * each of its first LIST page only: a subdirectory of one page is listed in full, a larger one
 * only has its first 1,000 entries remembered, so the background never spends more than one
 * request per subdirectory however large they are...
 */
const SUBDIR_PREFETCH_PER_LISTING = 1024
const SUBDIR_PREFETCH_PAGES = 1
/** ...at most this many at once, and not when this many already wait. */
const SUBDIR_PREFETCH_CONCURRENCY = 8
const SUBDIR_PREFETCH_MAX_QUEUED = 1024
/** Larger listings are not shared (one value per directory; ~100 B per child). */
const MANIFEST_MAX_CHILDREN = 100_000
/** Head mode: attribute HEADs after a readdir, this many at once (s3fs-fuse runs its HEADs in parallel too)... */
const ATTRIBUTE_PREFETCH_CONCURRENCY = 16
/** ...and at most this many waiting (a huge directory's later entries are read on their own stat). */
const ATTRIBUTE_PREFETCH_MAX_QUEUED = 10_000

const ABSENT = Object.freeze({ absent: true as const })
type Cached = Entry | typeof ABSENT

export class MetadataStore {
  readonly #config: MetadataConfig
  readonly #clock: Clock
  readonly #client: ObjectClient
  readonly #log: Logger
  readonly #entries: TtlCache<Cached>
  readonly #listings: TtlCache<DirListing>
  readonly #lookups = new SingleFlight<Entry>()
  readonly #lists = new SingleFlight<DirListing>()
  readonly #listedDirs = new LRUCache<string, number>({ max: LISTED_DIRS_REMEMBERED })
  /** Directories too large to list for one lookup (more than PATH_FIRST_MAX_PAGES pages). */
  readonly #largeDirs = new LRUCache<string, true>({ max: LISTED_DIRS_REMEMBERED })
  readonly #pathFirstLists = new SingleFlight<DirListing | undefined>()
  /** Background first-page listings (kept apart: an unfinished one must not mark a directory as large). */
  readonly #backgroundLists = new SingleFlight<DirListing | undefined>()
  readonly #prefetchQueue = new PQueue({ concurrency: SUBDIR_PREFETCH_CONCURRENCY })
  readonly #stale: StaleIfError
  readonly #attrQueue = new PQueue({ concurrency: ATTRIBUTE_PREFETCH_CONCURRENCY })
  readonly #heads = new SingleFlight<Entry>()
  readonly #memo: AttributeMemo
  #root: DirEntry
  /** Directory mtime: the mount time, stable so the kernel's caches stay valid. */
  readonly #dirMtimeMs: number

  readonly #manifest: ListingManifest | undefined

  constructor(config: MetadataConfig, client: ObjectClient, clock: Clock, log: Logger, manifest?: ListingManifest) {
    this.#config = config
    this.#manifest = manifest
    this.#client = client
    this.#log = log
    this.#clock = clock
    const staleMs = config.staleIfErrorMs ?? 0
    this.#stale = new StaleIfError(staleMs, log, clock)
    this.#entries = new TtlCache<Cached>({ maxWeight: config.maxEntries, clock, staleMs })
    this.#listings = new TtlCache<DirListing>({
      maxWeight: config.maxListedChildren, clock, weightOf: l => l.children.size, staleMs,
    })
    this.#dirMtimeMs = clock()
    this.#root = { kind: 'dir', prefix: '', mtimeMs: this.#dirMtimeMs }
    this.#memo = new AttributeMemo(config.maxEntries)
  }

  /**
   * The entry at `path` with its attributes, for getattr: `lookup`, plus one HEAD (shared by
   * concurrent callers) when attributes are read on demand and not known yet for this version.
   * `mustKnow` reads them whatever the mode (before rewriting them: chmod, a write).
   */
  async stat(path: string, mustKnow = false): Promise<Entry> {
    const entry = await this.lookup(path)
    if (!(this.#config.headForAttributes === true || mustKnow) || entry.attrs !== undefined || isRoot(path)) return entry
    return this.#heads.run(path, () => this.#readAttributes(path, entry))
  }

  /**
   * What `stat` would answer now without waiting, when the answer is a fresh cached
   * entry with everything `stat` needs; undefined otherwise (the caller then awaits
   * `stat`, which also handles absence, errors and stale-if-error). Lets getattr and
   * open of warm paths be answered without a promise.
   */
  peekStat(path: string): Entry | undefined {
    if (isRoot(path)) return this.#root
    if (this.#stale.holding()) return undefined
    const cached = this.#entries.get(path) ?? this.#listings.get(parentOf(path))?.children.get(baseName(path))
    if (cached === undefined || 'absent' in cached) return undefined
    return this.#config.headForAttributes === true && cached.attrs === undefined ? undefined : cached
  }

  /** Subdirectories of `path` per its cached listing; undefined when not listed (or expired). */
  subdirCount(path: string): number | undefined {
    const listing = this.#listings.get(path)
    if (listing === undefined) return undefined
    let n = 0
    for (const child of listing.children.values()) if (child.kind === 'dir') n++
    return n
  }

  /** Records new attributes of a directory (chmod, chown, utimens through the mount). */
  noteDirAttributes(path: string, attrs: PosixAttributes): void {
    this.#memo.rememberDir(path, attrs)
    if (isRoot(path)) {
      this.#root = { ...this.#root, attrs }
      return
    }
    this.#noteChild(path, { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: this.#dirMtimeMs, attrs })
  }

  /** The entry at `path`; throws NotFoundError when nothing is there. */
  async lookup(path: string): Promise<Entry> {
    const held = !isRoot(path) && this.#stale.holding() ? this.#staleEntry(path) : undefined
    if (held !== undefined) {
      this.#stale.served(path)
      return this.#unwrap(path, held)
    }
    try {
      return await this.#lookupFresh(path)
    } catch (err) {
      const stale = this.#stale.applies(err) ? this.#staleEntry(path) : undefined
      if (stale === undefined) throw err
      this.#stale.served(path, err)
      return this.#unwrap(path, stale)
    }
  }

  /** Stale-if-error figures for `stats`. */
  staleStats(): StaleIfErrorStats {
    return this.#stale.stats()
  }

  async #lookupFresh(path: string): Promise<Entry> {
    if (isRoot(path)) return this.#root
    const cached = this.#entries.get(path)
    if (cached !== undefined) return this.#unwrap(path, cached)
    const parentPath = parentOf(path)
    let parent = this.#listings.get(parentPath)
    const listedBefore = this.#listedDirs.get(parentPath)
    if (parent === undefined && listedBefore !== undefined && listedBefore <= RELIST_MAX_CHILDREN) {
      parent = await this.#lists.run(parentPath, () => this.#listRemote(parentPath, pathToPrefix(parentPath)))
    } else if (parent === undefined && listedBefore === undefined && this.#largeDirs.get(parentPath) === undefined) {
      parent = await this.#pathFirstLists.run(parentPath, () => this.#listUpTo(parentPath, pathToPrefix(parentPath), PATH_FIRST_MAX_PAGES))
      if (parent === undefined) {
        this.#largeDirs.set(parentPath, true)
        // The pages seen may have answered this path already.
        const seen = this.#entries.get(path)
        if (seen !== undefined) return this.#unwrap(path, seen)
      }
    }
    if (parent !== undefined) {
      let child = parent.children.get(baseName(path))
      // "No such name" is trusted for the negative TTL only: past it, list again (one LIST per 1,000 names, shared).
      if (child === undefined && this.#clock() - parent.listedAtMs >= this.#config.negativeTtlMs) {
        if (parent.children.size > RELIST_MAX_CHILDREN) return this.#lookups.run(path, () => this.#resolveRemote(path))
        const fresh = await this.#lists.run(parentPath, () => this.#listUpTo(parentPath, pathToPrefix(parentPath), Infinity, this.#config.negativeTtlMs) as Promise<DirListing>)
        child = fresh.children.get(baseName(path))
      }
      this.#remember(path, child ?? ABSENT)
      return this.#unwrap(path, child ?? ABSENT)
    }
    return this.#lookups.run(path, () => this.#resolveRemote(path))
  }

  /** The children of the directory at `path`. */
  async readdir(path: string): Promise<DirListing> {
    const entry = await this.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
    const cached = this.#listings.get(path) ?? (this.#stale.holding() ? this.#listings.getStale(path) : undefined)
    if (cached !== undefined) return cached
    let listing: DirListing
    try {
      listing = await this.#lists.run(path, () => this.#listRemote(path, entry.prefix))
    } catch (err) {
      const stale = this.#stale.applies(err) ? this.#listings.getStale(path) : undefined
      if (stale === undefined) throw err
      this.#stale.served(path, err)
      return stale
    }
    this.#prefetchSubdirs(path, listing)
    if (this.#config.headForAttributes === true) this.#prefetchAttributes(path, listing)
    return listing
  }

  /** What was known of `path` before its TTL ran out: its own entry, its own listing (a directory), or its parent's listing. */
  #staleEntry(path: string): Cached | undefined {
    const own = this.#entries.getStale(path)
    if (own !== undefined) return own
    if (this.#listings.getStale(path) !== undefined) return { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: this.#dirMtimeMs }
    const parent = this.#listings.getStale(parentOf(path))
    return parent === undefined ? undefined : parent.children.get(baseName(path)) ?? ABSENT
  }

  /** Records a file written through the mount, so lookups and listings see it at once. */
  noteFile(path: string, file: Omit<FileEntry, 'kind'>): void {
    if (file.attrs !== undefined) this.#memo.rememberFile(path, file.etag, file.attrs)
    this.#noteChild(path, { kind: 'file', ...file })
    this.#manifest?.forget(ancestorsOf(path))
  }

  /**
   * Records a directory created through the mount. It was empty (mkdir refuses an existing
   * name), so its listing is known: looking up new names in it (cp -r, tar x) costs no request.
   */
  noteDir(path: string, attrs?: PosixAttributes): void {
    if (attrs !== undefined) this.#memo.rememberDir(path, attrs)
    this.#noteChild(path, { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: this.#dirMtimeMs, ...(attrs !== undefined ? { attrs } : {}) })
    this.#manifest?.forget([path, ...ancestorsOf(path)])
    if (this.#listings.get(path) === undefined) {
      this.#listings.set(path, { children: new Map(), listedAtMs: this.#clock() }, this.#config.ttlMs)
      this.#listedDirs.set(path, 0)
    }
  }

  /** Records that `path` was removed through the mount. */
  noteRemoved(path: string): void {
    this.#memo.forget(path)
    this.#entries.set(path, ABSENT, this.#config.negativeTtlMs)
    this.#listings.delete(path)
    this.#listings.get(parentOf(path))?.children.delete(baseName(path))
    this.#manifest?.forget([path, parentOf(path)])
  }

  /** Forgets everything known at or below `path`, and its parent's listing (after a directory rename). */
  invalidateTree(path: string): void {
    this.invalidatePrefix(path)
    this.#listings.delete(parentOf(path))
  }

  /**
   * Forgets everything known at or below `path` (the root included) and returns the
   * directories whose listings were cached there, for `refresh` to list again. With
   * `keepStale`, what was known is only expired: stale-if-error may still serve it.
   */
  invalidatePrefix(path: string, opts: { keepStale?: boolean } = {}): string[] {
    const below = (p: string) => isRoot(path) || p === path || p.startsWith(path + '/')
    const listed = this.#listings.keys().filter(below)
    // File attributes are bound to their version and stay; a directory's can only be read again by HEAD.
    if (this.#config.headForAttributes === true) this.#memo.forgetDirsWhere(below)
    if (opts.keepStale === true) {
      // A refresh: what was known stays for stale-if-error, should the store fail to answer it.
      this.#entries.expireWhere(below)
      this.#listings.expireWhere(below)
    } else {
      this.#entries.deleteWhere(below)
      this.#listings.deleteWhere(below)
    }
    this.#manifest?.forget(isRoot(path) ? listed : [path, parentOf(path), ...listed])
    return listed
  }

  /**
   * A file is being created at `path` through the mount: forget its own entry (the staged
   * file answers until its upload is noted), but keep the parent's listing, so the next
   * new name in the same directory is still answered without a request.
   */
  noteCreating(path: string): void {
    this.#entries.delete(path)
  }

  /** Forgets what is known about `path` (and its listing), e.g. after a changed ETag. */
  invalidate(path: string): void {
    this.#entries.delete(path)
    this.#listings.delete(path)
    this.#listings.delete(parentOf(path))
  }

  #noteChild(path: string, entry: Entry): void {
    this.#remember(path, entry)
    this.#listings.get(parentOf(path))?.children.set(baseName(path), entry)
  }

  #unwrap(path: string, cached: Cached): Entry {
    if ('absent' in cached) throw new NotFoundError(`${path}: no such file or directory`)
    return cached
  }

  #remember(path: string, value: Cached): void {
    this.#entries.set(path, value, 'absent' in value ? this.#config.negativeTtlMs : this.#config.ttlMs)
  }

  async #resolveRemote(path: string): Promise<Entry> {
    const key = pathToKey(path)
    const prefix = key + '/'
    // Both at once: the answer costs one round trip whichever it turns out to be.
    const [asDir, asFile] = await Promise.allSettled([
      this.#client.listPage({ prefix, maxKeys: 1 }),
      this.#client.head(key),
    ])
    if (asDir.status === 'rejected') throw asDir.reason
    this.#stale.recovered()
    if (asDir.value.objects.length > 0 || asDir.value.commonPrefixes.length > 0) {
      const dir = this.#dirEntry(path, prefix)
      this.#remember(path, dir)
      return dir
    }
    if (asFile.status === 'fulfilled') {
      const file = this.#fileEntry(path, asFile.value, key)
      this.#remember(path, file)
      return file
    }
    if (asFile.reason instanceof NotFoundError) {
      this.#remember(path, ABSENT)
      return this.#unwrap(path, ABSENT)
    }
    throw asFile.reason
  }

  async #listRemote(path: string, prefix: string): Promise<DirListing> {
    return await this.#listUpTo(path, prefix, Infinity) as DirListing
  }

  /** Lists a directory in full, or gives up (undefined) past `maxPages` pages, keeping the entries it saw. */
  async #listUpTo(path: string, prefix: string, maxPages: number, sharedWithinMs = this.#config.ttlMs): Promise<DirListing | undefined> {
    const shared = await this.#manifest?.get(path)
    if (shared !== undefined && this.#clock() - shared.listedAtMs < Math.min(sharedWithinMs, this.#config.ttlMs)) return this.#adopt(path, shared)
    const files = new Map<string, FileEntry>()
    const dirs = new Map<string, DirEntry>()
    let token: string | undefined
    let pages = 0
    do {
      const page = await this.#client.listPage({
        prefix, delimiter: '/', ...(token !== undefined ? { continuationToken: token } : {}),
      })
      pages++
      this.#stale.recovered()
      for (const cp of page.commonPrefixes) {
        const name = cp.slice(prefix.length, -1)
        if (isRepresentableName(name)) dirs.set(name, this.#dirEntry(joinPath(path, name), cp))
      }
      for (const obj of page.objects) {
        const name = obj.key.slice(prefix.length)
        // `dir/` marker objects list as the prefix itself; keys ending in '/' are markers.
        if (name.endsWith('/') || !isRepresentableName(name)) continue
        files.set(name, this.#fileEntry(joinPath(path, name), obj, obj.key))
      }
      token = page.nextContinuationToken
      if (token !== undefined && pages >= maxPages) {
        for (const [name, entry] of [...files, ...dirs]) this.#remember(joinPath(path, name), entry)
        this.#log.debug({ path, pages }, 'directory too large to list for a lookup')
        return undefined
      }
    } while (token !== undefined)

    const names = [...new Set([...files.keys(), ...dirs.keys()])].sort(compareUtf8)
    // A name that is both an object and a prefix is a directory (see docs/SEMANTICS.md).
    const children = new Map<string, Entry>(names.map(n => [n, (dirs.get(n) ?? files.get(n)) as Entry]))
    const listing: DirListing = { children, listedAtMs: this.#clock() }
    this.#listings.set(path, listing, this.#config.ttlMs)
    this.#listedDirs.set(path, children.size)
    for (const [name, entry] of children) this.#remember(joinPath(path, name), entry)
    this.#log.debug({ path, entries: children.size, pages }, 'listed directory')
    if (children.size <= MANIFEST_MAX_CHILDREN) this.#manifest?.put(path, { children: [...children], listedAtMs: listing.listedAtMs }, this.#config.ttlMs)
    return listing
  }

  /** A listing another node stored: cached for what is left of its TTL, as if listed here then. */
  #adopt(path: string, shared: SharedListing): DirListing {
    const ttlMs = this.#config.ttlMs - (this.#clock() - shared.listedAtMs)
    const listing: DirListing = { children: new Map(shared.children), listedAtMs: shared.listedAtMs }
    this.#listings.set(path, listing, ttlMs)
    this.#listedDirs.set(path, listing.children.size)
    for (const [name, entry] of listing.children) this.#entries.set(joinPath(path, name), entry, ttlMs)
    return listing
  }

  /** In head mode the kernel stats every entry next (`ls -l`): HEAD them in parallel now, bounded. */
  #prefetchAttributes(path: string, listing: DirListing): void {
    for (const [name, entry] of listing.children) {
      if (this.#attrQueue.size >= ATTRIBUTE_PREFETCH_MAX_QUEUED) return
      if (entry.attrs !== undefined) continue
      const child = joinPath(path, name)
      this.#attrQueue.add(() => this.stat(child)).catch((err: unknown) => this.#log.debug({ err, path: child }, 'background HEAD failed'))
    }
  }

  #prefetchSubdirs(path: string, listing: DirListing): void {
    let started = 0
    for (const [name, entry] of listing.children) {
      if (started >= SUBDIR_PREFETCH_PER_LISTING || this.#prefetchQueue.size >= SUBDIR_PREFETCH_MAX_QUEUED) return
      if (entry.kind !== 'dir') continue
      const child = joinPath(path, name)
      if (this.#listings.get(child) !== undefined) continue
      started++
      this.#prefetchQueue.add(async () => this.#listings.get(child) ??
        this.#backgroundLists.run(child, () => this.#listUpTo(child, entry.prefix, SUBDIR_PREFETCH_PAGES)))
        .catch((err: unknown) => this.#log.debug({ err, path: child }, 'background listing failed'))
    }
  }

  /** A file entry; its attributes from the object's headers (a HEAD) or from what was seen of this version. */
  #fileEntry(path: string, info: ObjectInfo, key: string): FileEntry {
    const mtimeMs = info.lastModified.getTime()
    let attrs: PosixAttributes | undefined
    if (info.metadata !== undefined) {
      attrs = parseS3fsMetadata(info.metadata)
      this.#memo.rememberFile(path, info.etag, attrs, mtimeMs)
    } else {
      attrs = this.#memo.forFile(path, info.etag, mtimeMs)
    }
    // One shape for every entry (no conditional spread): a spread literal gets a larger, slower object.
    return attrs === undefined ? { kind: 'file', key, size: info.size, etag: info.etag, mtimeMs } : { kind: 'file', key, size: info.size, etag: info.etag, mtimeMs, attrs }
  }

  #dirEntry(path: string, prefix: string): DirEntry {
    const attrs = this.#memo.forDir(path)
    return { kind: 'dir', prefix, mtimeMs: this.#dirMtimeMs, ...(attrs !== undefined ? { attrs } : {}) }
  }

  /** One HEAD: a file's current version with its headers, or a directory marker's headers ({} when absent). */
  async #readAttributes(path: string, entry: Entry): Promise<Entry> {
    if (entry.kind === 'file') {
      try {
        const file = this.#fileEntry(path, await this.#client.head(entry.key), entry.key)
        this.#noteChild(path, file)
        return file
      } catch (err) {
        if (err instanceof NotFoundError) this.invalidate(path)
        throw err
      }
    }
    let attrs: PosixAttributes = {}
    try {
      attrs = parseS3fsMetadata((await this.#client.head(entry.prefix)).metadata ?? {})
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
    this.#memo.rememberDir(path, attrs)
    const dir: DirEntry = { ...entry, attrs }
    this.#noteChild(path, dir)
    return dir
  }
}

/** The directories above `path`, up to the root: a new name may create implicit directories in each. */
function ancestorsOf(path: string): string[] {
  const out: string[] = []
  for (let p = parentOf(path); ; p = parentOf(p)) {
    out.push(p)
    if (isRoot(p)) return out
  }
}

/** S3 orders keys by UTF-8 bytes; JS strings compare by UTF-16 units. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
