/**
 * Answers "what is at this path?" and "what is in this directory?" from caches
 * filled by LIST pages, going to the store only on a miss.
 *
 * - A stat cache (path → entry, or absent for a shorter TTL) and a listing cache
 *   (directory → children), both bounded. A fresh listing of the parent answers lookups
 *   of its children, present or absent: `ls -l`, `find` and ImageFolder scans cost LIST
 *   pages, never a HEAD per entry; an expired listing is listed again for a lookup in it.
 * - Path-first: a lookup in a directory never listed lists it once (shared by every
 *   concurrent lookup there) and answers its siblings from it; a directory of more than
 *   PATH_FIRST_MAX_PAGES pages is remembered as large, and lookups there cost one HEAD
 *   and one LIST (max 1 key). A name that is both an object and a prefix is a directory.
 * - Listing a directory starts background work (background-metadata.ts); stale-if-error
 *   (stale-if-error.ts) answers a failing refresh from the entry expired less than
 *   `staleIfErrorMs` ago; identical concurrent lookups and listings share one request.
 * - A listing manifest (on disk, or shared through `--coordinator`) gives directories
 *   listed within the TTL by an earlier mount or another node; changes through this
 *   mount or `refresh` remove the directories they touch from it.
 * What is known lives in metadata-caches.ts; how the store is asked, in directory-lister.ts.
 */
import type { Logger } from 'pino'
import { NotADirectoryError, NotFoundError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { SingleFlight } from '../util/single-flight.js'
import type { DirEntry, DirListing, Entry, FileEntry } from './entry.js'
import { ancestorsOf, baseName, isRoot, parentOf, pathToPrefix } from './paths.js'
import { StaleIfError, type StaleIfErrorStats } from './stale-if-error.js'
import type { Clock } from './ttl-cache.js'
import { AttributeMemo } from './attribute-memo.js'
import type { PosixAttributes } from './s3fs-attributes.js'
import { EntryFactory } from './entry-factory.js'
import { DirectoryLister } from './directory-lister.js'
import { BackgroundMetadata, SUBDIR_PREFETCH_PAGES } from './background-metadata.js'
import type { ListingManifest, SharedListing } from './listing-manifest.js'
import { MANIFEST_MAX_CHILDREN, PATH_FIRST_MAX_PAGES, RELIST_MAX_CHILDREN, type MetadataConfig } from './metadata-config.js'
import { ABSENT, MetadataCaches, unwrap, type MetadataChangeListener } from './metadata-caches.js'
export type { MetadataChangeListener } from './metadata-caches.js'

export type { ListingManifest, SharedListing } from './listing-manifest.js'
export type { MetadataConfig } from './metadata-config.js'

export class MetadataStore {
  readonly #config: MetadataConfig
  readonly #clock: Clock
  readonly #log: Logger
  readonly #caches: MetadataCaches
  readonly #lookups = new SingleFlight<Entry>()
  readonly #lists = new SingleFlight<DirListing>()
  readonly #pathFirstLists = new SingleFlight<DirListing | undefined>()
  /** Background first-page listings (kept apart: an unfinished one must not mark a directory as large). */
  readonly #backgroundLists = new SingleFlight<DirListing | undefined>()
  readonly #background: BackgroundMetadata
  readonly #stale: StaleIfError
  readonly #heads = new SingleFlight<Entry>()
  readonly #memo: AttributeMemo
  readonly #make: EntryFactory
  readonly #lister: DirectoryLister
  #root: DirEntry
  /** Directory mtime: the mount time, stable so the kernel's caches stay valid. */
  readonly #dirMtimeMs: number
  readonly #manifest: ListingManifest | undefined

  constructor(config: MetadataConfig, client: ObjectClient, clock: Clock, log: Logger, manifest?: ListingManifest) {
    this.#config = config
    this.#manifest = manifest
    this.#log = log
    this.#clock = clock
    this.#stale = new StaleIfError(config.staleIfErrorMs ?? 0, log, clock)
    this.#caches = new MetadataCaches(config, clock)
    this.#dirMtimeMs = clock()
    this.#root = { kind: 'dir', prefix: '', mtimeMs: this.#dirMtimeMs }
    this.#memo = new AttributeMemo(config.maxEntries)
    this.#make = new EntryFactory(this.#memo, this.#dirMtimeMs)
    this.#lister = new DirectoryLister(client, this.#make, () => this.#stale.recovered(), config.readOnly === true)
    this.#background = new BackgroundMetadata(log)
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
    const cached = this.#stale.holding() ? undefined : this.#caches.known(path)
    return this.#config.headForAttributes === true && cached?.attrs === undefined ? undefined : cached
  }

  /** `peekStat` of a path other than the root, with how long (ms) that answer holds unless a change comes first. */
  peekStatFor(path: string): { entry: Entry; forMs: number } | undefined {
    if (isRoot(path) || this.#stale.holding()) return undefined
    const known = this.#caches.knownUntil(path)
    if (known === undefined || (this.#config.headForAttributes === true && known.entry.attrs === undefined)) return undefined
    return { entry: known.entry, forMs: known.untilMs - this.#clock() }
  }

  /** Told of every change to what lookups of cached paths answer (known-files.ts mirrors them). */
  set changeListener(listener: MetadataChangeListener) {
    this.#caches.listener = listener
  }

  /** Head mode: a listed file's attributes are known only once its headers are read (`--posix-metadata head`). */
  get headsForAttributes(): boolean {
    return this.#config.headForAttributes === true
  }

  /** Subdirectories of `path` per its cached listing; undefined when not listed (or expired). */
  subdirCount(path: string): number | undefined {
    return this.#caches.subdirCount(path)
  }

  /** Records new attributes of a directory (chmod, chown, utimens through the mount). */
  noteDirAttributes(path: string, attrs: PosixAttributes): void {
    this.#memo.rememberDir(path, attrs)
    if (isRoot(path)) {
      this.#root = { ...this.#root, attrs }
      return
    }
    this.#caches.noteChild(path, { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: this.#dirMtimeMs, attrs })
  }

  /** The entry at `path`; throws NotFoundError when nothing is there. */
  async lookup(path: string): Promise<Entry> {
    const held = !isRoot(path) && this.#stale.holding() ? this.#caches.staleEntry(path, this.#dirMtimeMs) : undefined
    if (held !== undefined) {
      this.#stale.served(path)
      return unwrap(path, held)
    }
    try {
      return await this.#lookupFresh(path)
    } catch (err) {
      const stale = this.#stale.applies(err) ? this.#caches.staleEntry(path, this.#dirMtimeMs) : undefined
      if (stale === undefined) throw err
      this.#stale.served(path, err)
      return unwrap(path, stale)
    }
  }

  /** Stale-if-error figures for `stats`. */
  staleStats(): StaleIfErrorStats {
    return this.#stale.stats()
  }

  async #lookupFresh(path: string): Promise<Entry> {
    if (isRoot(path)) return this.#root
    const cached = this.#caches.entry(path)
    if (cached !== undefined) return unwrap(path, cached)
    const parentPath = parentOf(path)
    let parent = this.#caches.listing(parentPath)
    const listedBefore = this.#caches.listedBefore(parentPath)
    if (parent === undefined && listedBefore !== undefined && listedBefore <= RELIST_MAX_CHILDREN) {
      parent = await this.#lists.run(parentPath, () => this.#listAll(parentPath, pathToPrefix(parentPath)))
    } else if (parent === undefined && listedBefore === undefined && !this.#caches.isLarge(parentPath)) {
      parent = await this.#pathFirstLists.run(parentPath, () => this.#listUpTo(parentPath, pathToPrefix(parentPath), PATH_FIRST_MAX_PAGES))
      if (parent === undefined) {
        this.#caches.markLarge(parentPath)
        // The pages seen may have answered this path already.
        const seen = this.#caches.entry(path)
        if (seen !== undefined) return unwrap(path, seen)
      }
    }
    if (parent !== undefined) {
      let child = parent.children.get(baseName(path))
      // "No such name" is trusted for the negative TTL only: past it, list again (one LIST per 1,000 names, shared).
      if (child === undefined && this.#clock() - parent.listedAtMs >= this.#config.negativeTtlMs) {
        if (parent.children.size > RELIST_MAX_CHILDREN) return this.#lookups.run(path, () => this.#resolveRemote(path))
        const fresh = await this.#lists.run(parentPath, () => this.#listAll(parentPath, pathToPrefix(parentPath), this.#config.negativeTtlMs))
        child = fresh.children.get(baseName(path))
      }
      // A child found is not copied into the stat cache: the listing holds it (metadata-caches.ts).
      if (child === undefined) this.#caches.remember(path, ABSENT)
      return unwrap(path, child ?? ABSENT)
    }
    return this.#lookups.run(path, () => this.#resolveRemote(path))
  }

  /** The children of the directory at `path`. */
  async readdir(path: string): Promise<DirListing> {
    const entry = await this.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
    const cached = this.#caches.listing(path) ?? (this.#stale.holding() ? this.#caches.staleListing(path) : undefined)
    // An assumed listing (a directory mkdir made) is listed once: other clients may have put objects there.
    if (cached !== undefined && (cached.assumed !== true || this.#stale.holding())) return cached
    let listing: DirListing
    try {
      listing = await this.#lists.run(path, () => this.#listAll(path, entry.prefix))
    } catch (err) {
      const stale = this.#stale.applies(err) ? this.#caches.staleListing(path) : undefined
      if (stale === undefined) throw err
      this.#stale.served(path, err)
      return stale
    }
    this.#background.subdirectories(
      path,
      listing,
      child => this.#caches.listing(child) !== undefined,
      (child, prefix) => this.#backgroundLists.run(child, () => this.#listUpTo(child, prefix, SUBDIR_PREFETCH_PAGES)),
    )
    if (this.#config.headForAttributes === true) this.#background.attributes(path, listing, child => this.stat(child))
    return listing
  }

  /** Records a file written through the mount, so lookups and listings see it at once. */
  noteFile(path: string, file: Omit<FileEntry, 'kind'>): void {
    if (file.attrs !== undefined) this.#memo.rememberFile(path, file.etag, file.attrs)
    this.#caches.noteChild(path, { kind: 'file', ...file })
    this.#manifest?.forget(ancestorsOf(path))
  }

  /**
   * Records a directory created through the mount. It was empty (mkdir refuses an existing
   * name), so its listing is known: looking up new names in it (cp -r, tar x) costs no request.
   */
  noteDir(path: string, attrs?: PosixAttributes): void {
    if (attrs !== undefined) this.#memo.rememberDir(path, attrs)
    this.#caches.noteChild(path, { kind: 'dir', prefix: pathToPrefix(path), mtimeMs: this.#dirMtimeMs, ...(attrs !== undefined ? { attrs } : {}) })
    this.#manifest?.forget([path, ...ancestorsOf(path)])
    this.#caches.storeEmptyListing(path)
  }

  /**
   * The store holds objects under `path` that made rmdir fail: forget its cached listing, which
   * may lack them (added by another client within the TTL), so the next readdir (rm -r) shows them.
   */
  noteNotEmpty(path: string): void {
    this.#caches.forgetListing(path)
    this.#manifest?.forget([path])
  }

  /** Records that `path` was removed through the mount. */
  noteRemoved(path: string): void {
    this.#memo.forget(path)
    this.#caches.noteRemoved(path)
    this.#manifest?.forget([path, parentOf(path)])
  }

  /** Forgets everything known at or below `path`, and its parent's listing (after a directory rename). */
  invalidateTree(path: string): void {
    this.invalidatePrefix(path)
    this.#caches.forgetListing(parentOf(path))
  }

  /**
   * Forgets everything known at or below `path` (the root included) and returns the
   * directories whose listings were cached there, for `refresh` to list again. With
   * `keepStale`, what was known is only expired: stale-if-error may still serve it.
   */
  invalidatePrefix(path: string, opts: { keepStale?: boolean } = {}): string[] {
    const below = (p: string) => isRoot(path) || p === path || p.startsWith(path + '/')
    // File attributes are bound to their version and stay; a directory's can only be read again by HEAD.
    if (this.#config.headForAttributes === true) this.#memo.forgetDirsWhere(below)
    // A refresh (keepStale): what was known stays for stale-if-error, should the store fail to answer it.
    const listed = this.#caches.invalidatePrefix(path, opts.keepStale === true)
    this.#manifest?.forget(isRoot(path) ? listed : [path, parentOf(path), ...listed])
    return listed
  }

  /**
   * A file is being created at `path` through the mount: forget its own entry (the staged
   * file answers until its upload is noted), but keep the parent's listing, so the next
   * new name in the same directory is still answered without a request.
   */
  noteCreating(path: string): void {
    this.#caches.forgetEntry(path)
  }

  /** Forgets what is known about `path` (and its listing), e.g. after a changed ETag. */
  invalidate(path: string): void {
    this.#caches.invalidate(path)
  }

  async #resolveRemote(path: string): Promise<Entry> {
    const found = await this.#lister.probe(path)
    this.#caches.remember(path, found ?? ABSENT)
    return unwrap(path, found ?? ABSENT)
  }

  async #listAll(path: string, prefix: string, sharedWithinMs = this.#config.ttlMs): Promise<DirListing> {
    return (await this.#listUpTo(path, prefix, Infinity, sharedWithinMs)) as DirListing
  }

  /** Lists a directory in full, or gives up (undefined) past `maxPages` pages, keeping the entries it saw. */
  async #listUpTo(path: string, prefix: string, maxPages: number, sharedWithinMs = this.#config.ttlMs): Promise<DirListing | undefined> {
    const shared = await this.#manifest?.get(path)
    if (shared !== undefined && this.#clock() - shared.listedAtMs < Math.min(sharedWithinMs, this.#config.ttlMs)) return this.#adopt(path, shared)
    const listed = await this.#lister.list(path, prefix, maxPages)
    if (!listed.complete) {
      this.#caches.rememberSeen(path, listed.seen)
      this.#log.debug({ path, pages: listed.pages }, 'directory too large to list for a lookup')
      return undefined
    }
    const { children, pages } = listed
    const listedAtMs = this.#clock()
    this.#log.debug({ path, entries: children.size, pages }, 'listed directory')
    if (children.size <= MANIFEST_MAX_CHILDREN) this.#manifest?.put(path, { children: [...children], listedAtMs }, this.#config.ttlMs)
    return this.#caches.storeListing(path, { children, listedAtMs }, this.#config.ttlMs)
  }

  /** A listing another node stored: cached for what is left of its TTL, as if listed here then. */
  #adopt(path: string, shared: SharedListing): DirListing {
    const ttlMs = this.#config.ttlMs - (this.#clock() - shared.listedAtMs)
    return this.#caches.storeListing(path, { children: new Map(shared.children), listedAtMs: shared.listedAtMs }, ttlMs)
  }

  /** One HEAD: a file's current version with its headers, or a directory marker's headers. */
  async #readAttributes(path: string, entry: Entry): Promise<Entry> {
    try {
      const read = await this.#lister.attributes(path, entry)
      if (read.kind === 'dir') this.#memo.rememberDir(path, read.attrs ?? {})
      this.#caches.noteChild(path, read)
      return read
    } catch (err) {
      if (err instanceof NotFoundError) this.invalidate(path)
      throw err
    }
  }
}
