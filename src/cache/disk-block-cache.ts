/**
 * The persistent block cache on a local directory.
 *
 * Layout under `cacheDir`:
 *   blocks/<aa>/<objectId>.<blockIndex>   one file per block (see block-file-format.ts)
 *   tmp/                                   blocks being written (write, then rename)
 *   lock                                   flock(2)ed by the daemon using this directory (src/daemon/cache-dir-lock.ts)
 *   objects.jsonl                          objectId → (namespace, key) journal (object-catalog.ts)
 *   rules.json                             pins and per-path TTLs (cache-rules.ts)
 * `objectId` hashes (namespace, key, ETag, block size), so a changed object never
 * matches old blocks, and blocks survive unmounts, restarts and reboots.
 *
 * Bounded by `maxBytes`: an eviction policy (src/cache/eviction/) over the
 * in-memory BlockIndex chooses what goes; pinned objects are never evicted. The
 * index is rebuilt at start by scanning the directory (oldest mtime first), in
 * the background: reads never wait for it. A read error or a corrupt block is a
 * miss, logged, never an error for the reader. Cached data older than its TTL
 * (`--cache-ttl`, `s3cachefs ttl`) is dropped when read and by a periodic sweep.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { CacheCorruptError } from '../errors.js'
import { BLOCK_HEADER_BYTES, blockHeader, verifyBlock } from './block-file-format.js'
import { type BlockEntry, BlockIndex, type CachedObject, type ScannedBlock } from './block-index.js'
import { CacheRules, matches, namespaceId, type RuleTarget } from './cache-rules.js'
import type { EvictionPolicyName } from './eviction/eviction-policy.js'
import { type CatalogEntry, ObjectCatalog } from './object-catalog.js'
import { OpenBlockFiles, openFilesBudget } from './open-block-files.js'
import { DiskSpaceGuard, statfsProbe } from './disk-space-guard.js'

export interface DiskCacheConfig {
  readonly dir: string
  readonly maxBytes: number
  /** Block writes allowed in flight; more are dropped (the data stays readable from S3). */
  readonly maxPendingWrites: number
  /** Which blocks go when the cache is full (default scan-resistant). */
  readonly eviction?: EvictionPolicyName
  /** Cached data older than this is dropped unless a per-path rule says otherwise; default Infinity. */
  readonly defaultTtlMs?: number
  /** How often expired blocks are swept while any TTL applies. */
  readonly ttlSweepIntervalMs?: number
  /** The mount's namespace (bucket, prefix, endpoint), recorded with each object's key. */
  readonly namespace?: string
  /** Free bytes on the cache's filesystem (tests fake a full disk); default statfs of `dir`. */
  readonly spaceProbe?: () => Promise<number>
}

export interface BlockAddress {
  readonly objectId: string
  readonly index: number
  /** The object's key in the mount, when the caller knows it: recorded in the catalog. */
  readonly key?: string
}

export type DropReason = 'freed' | 'expired'

export interface DiskCacheStats {
  readonly usedBytes: number
  readonly maxBytes: number
  readonly blocks: number
  readonly corruptBlocks: number
  readonly writeErrors: number
  readonly droppedWrites: number
  readonly evictedBlocks: number
  readonly indexReady: boolean
  /** Eviction policy in use. */
  readonly policy: EvictionPolicyName
  /** Bytes and blocks of pinned objects on disk (never evicted). */
  readonly pinnedBytes: number
  readonly pinnedBlocks: number
  /** Blocks dropped because they outlived their TTL, and their bytes. */
  readonly ttlDroppedBlocks: number
  readonly ttlDroppedBytes: number
  /** Blocks dropped by `s3cachefs free`, and their bytes. */
  readonly freedBlocks: number
  readonly freedBytes: number
  /** Disk-full episodes since start, and whether one lasts now (the bound is lowered). */
  readonly diskFullEpisodes: number
  readonly diskFull: boolean
}

/** Stable id of one version of one object, as cached. */
export function objectIdOf(namespace: string, key: string, etag: string, blockSize: number): string {
  return createHash('sha256').update(`${namespace}\0${key}\0${etag}\0${blockSize}`).digest('hex').slice(0, 40)
}

export class DiskBlockCache {
  readonly #config: DiskCacheConfig
  readonly #log: Logger
  readonly #rules: CacheRules
  readonly #catalog: ObjectCatalog
  readonly #ns: string
  readonly #index: BlockIndex
  /** Block writes in progress by relative path, so a load can wait for one instead of writing twice. */
  readonly #writing = new Map<string, Promise<void>>()
  readonly #dropListeners: Array<(objectId: string, index: number) => void> = []
  /** Open descriptors of block files: a hit is one positioned read. */
  readonly #files = new OpenBlockFiles(openFilesBudget())
  /** ENOSPC handled once per disk-full episode, the bound restored when space returns. */
  readonly #space: DiskSpaceGuard
  #sweepTimer: NodeJS.Timeout | undefined
  #scanned: Promise<void> = Promise.resolve()
  /** Set by close(): an unfinished scan stops early (the next start scans again). */
  #stopping = false
  #pendingWrites = 0
  #pendingWriteBytes = 0
  #indexReady = false
  #corrupt = 0
  #writeErrors = 0
  #dropped = 0
  #evicted = 0
  #ttlDropped = 0
  #ttlDroppedBytes = 0
  #freed = 0
  #freedBytes = 0

  private constructor(config: DiskCacheConfig, log: Logger, rules: CacheRules, catalog: ObjectCatalog) {
    this.#config = config
    this.#log = log
    this.#rules = rules
    this.#catalog = catalog
    this.#ns = namespaceId(config.namespace ?? '')
    this.#index = new BlockIndex(config.eviction ?? 'scan-resistant', config.maxBytes, e => rules.isPinned(e.ns, e.key))
    this.#space = new DiskSpaceGuard({
      configuredMaxBytes: config.maxBytes, usedBytes: () => this.#index.usedBytes, probe: config.spaceProbe ?? statfsProbe(config.dir), log,
      setMaxBytes: bytes => { this.#index.setMaxBytes(bytes); this.#evictIfNeeded() },
    })
  }

  /** Prepares the directories and starts rebuilding the index in the background. */
  static async open(config: DiskCacheConfig, log: Logger): Promise<DiskBlockCache> {
    await mkdir(join(config.dir, 'blocks'), { recursive: true })
    await rm(join(config.dir, 'tmp'), { recursive: true, force: true })
    await mkdir(join(config.dir, 'tmp'), { recursive: true })
    const cache = new DiskBlockCache(config, log, await CacheRules.load(config.dir), await ObjectCatalog.open(config.dir))
    cache.#scanned = cache.#scan().catch((err: unknown) => log.error({ err }, 'cache index scan failed'))
    if (config.ttlSweepIntervalMs !== undefined) {
      cache.#sweepTimer = setInterval(() => {
        if (cache.#ttlActive()) cache.sweepExpired().catch((err: unknown) => log.warn({ err }, 'TTL sweep failed'))
      }, config.ttlSweepIntervalMs).unref()
    }
    return cache
  }

  /** The block's data, or undefined on a miss (absent, unreadable or corrupt). */
  async read(addr: BlockAddress, expectedLength: number): Promise<Buffer | undefined> {
    // Not from the shared pool: a small cached block must not keep a pool slab alive.
    const data = Buffer.allocUnsafeSlow(expectedLength)
    return (await this.readInto(addr, expectedLength, data)) ? data : undefined
  }

  /**
   * Reads the block's data into `target[0, expectedLength)` and verifies it: one
   * positioned read of header and data, the data straight into `target` (for a FUSE
   * read that covers a whole block, the kernel's reply buffer). False on a miss
   * (absent, unreadable or corrupt); `target` then holds nothing meaningful.
   */
  async readInto(addr: BlockAddress, expectedLength: number, target: Buffer): Promise<boolean> {
    const rel = relPath(addr)
    if (this.expireIfStale(addr)) return false
    // Once the scan is done the index knows every block: a miss costs no open(), and a
    // block just freed or expired is not read back while its unlink is under way.
    if (this.#indexReady && !this.has(addr)) {
      const writing = this.#writing.get(rel)
      if (writing === undefined) return false
      await writing.catch(() => {}) // being written: wait rather than fetch it again
      if (!this.has(addr)) return false
    }
    const header = Buffer.allocUnsafe(BLOCK_HEADER_BYTES)
    const data = target.subarray(0, expectedLength)
    let n: number
    try {
      n = await this.#files.readv(join(this.#config.dir, rel), [header, data])
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn({ err, block: rel }, 'cache read failed; treating as a miss')
      this.#forget(addr)
      return false
    }
    try {
      verifyBlock(header, data, n, expectedLength)
    } catch (err) {
      if (!(err instanceof CacheCorruptError)) throw err
      this.#corrupt++
      this.#log.warn({ block: rel, reason: err.message }, 'corrupt cache block dropped; refetching')
      this.#forget(addr)
      this.#unlinkBlock(rel)
      return false
    }
    this.#onReadHit(addr, n)
    return true
  }

  /**
   * The common prefix of the block files of an object (block i is the prefix followed
   * by i) that another reader (the FUSE binding's direct reads) may open and check
   * itself; undefined unless the index knows all `blocks` of it now and none has
   * expired. Counts as a read of each for eviction.
   */
  prefixForDirectRead(objectId: string, blocks: number): string | undefined {
    if (!this.#indexReady) return undefined
    const found = []
    for (let index = 0; index < blocks; index++) {
      const b = this.#index.get(objectId, index)
      if (b === undefined || this.expireIfStale({ objectId, index })) return undefined
      found.push(b)
    }
    for (const b of found) this.#index.touch(b)
    return join(this.#config.dir, relPath({ objectId, index: 0 })).slice(0, -1)
  }

  /** Stores a block in the background; never fails the caller. */
  write(addr: BlockAddress, data: Buffer): void {
    if (this.#pendingWrites >= this.#config.maxPendingWrites || !this.#fits(addr, data.length)) {
      this.#dropped++
      return
    }
    this.#startWrite(addr, data, false).catch(() => {})
  }

  stats(): DiskCacheStats {
    const ix = this.#index
    return {
      usedBytes: ix.usedBytes, maxBytes: ix.maxBytes, blocks: ix.blocks,
      corruptBlocks: this.#corrupt, writeErrors: this.#writeErrors, droppedWrites: this.#dropped,
      evictedBlocks: this.#evicted, indexReady: this.#indexReady,
      policy: ix.policyName, pinnedBytes: ix.pinnedBytes, pinnedBlocks: ix.pinnedBlocks,
      ttlDroppedBlocks: this.#ttlDropped, ttlDroppedBytes: this.#ttlDroppedBytes,
      freedBlocks: this.#freed, freedBytes: this.#freedBytes,
      diskFullEpisodes: this.#space.episodes, diskFull: this.#space.inEpisode,
    }
  }

  /** Resolves once pending block writes have finished (used at shutdown and by tests). */
  async drain(): Promise<void> {
    while (this.#pendingWrites > 0) await new Promise(r => setTimeout(r, 5))
    // The directory is quiet only once the scan and catalog rewrites are over too.
    await this.#scanned
    await this.#catalog.close()
  }

  /** Drains writes, stops the sweep and closes the catalog (at shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer)
    this.#space.stop()
    this.#stopping = true
    await this.drain()
    this.#files.closeAll()
  }

  // ---- operations behind `load`, `pin`, `free`, `ttl` (see src/ops/) ----

  /** The mount's namespace id, as used in rules. */
  get namespaceId(): string {
    return this.#ns
  }

  get rules(): CacheRules {
    return this.#rules
  }

  /** Room left under the bound, counting block writes still in flight (what prefetch may fill without evicting). */
  freeBytes(): number {
    return this.#index.maxBytes - this.#index.usedBytes - this.#pendingWriteBytes
  }

  /** Whether the block is on disk (as far as the index knows). */
  has(addr: BlockAddress): boolean {
    return this.#index.get(addr.objectId, addr.index) !== undefined
  }

  /**
   * Makes sure a block an operator loads is on disk: waits for its write if one is
   * running, otherwise writes it, waiting for a write slot rather than dropping it.
   * The policy keeps it as a preloaded block. Resolves false if it cannot be stored.
   */
  async persist(addr: BlockAddress, data: Buffer): Promise<boolean> {
    await this.#writing.get(relPath(addr))?.catch(() => {})
    const existing = this.#index.get(addr.objectId, addr.index)
    if (existing !== undefined) {
      this.#index.touch(existing, true)
      return true
    }
    if (!this.#fits(addr, data.length)) return false
    while (this.#pendingWrites >= this.#config.maxPendingWrites) await new Promise(r => setTimeout(r, 5))
    return this.#startWrite(addr, data, true).then(() => this.has(addr), () => false)
  }

  /** For a block already on disk: counts it as loaded by an operator (the policy keeps it); false when absent. */
  markLoaded(addr: BlockAddress): boolean {
    const b = this.#index.get(addr.objectId, addr.index)
    if (b === undefined || this.expireIfStale(addr)) return false
    this.#index.touch(b, true)
    return true
  }

  /** Calls `listener` whenever a block is dropped by `free` or a TTL (not by eviction). */
  onDrop(listener: (objectId: string, index: number) => void): void {
    this.#dropListeners.push(listener)
  }

  /** Drops the block if it outlived its TTL; true when it did (the caller treats it as a miss). */
  expireIfStale(addr: BlockAddress): boolean {
    const b = this.#index.get(addr.objectId, addr.index)
    if (b === undefined || b.storedAtMs + this.ttlOf(b.object) > Date.now()) return false
    this.#drop(b, 'expired')
    return true
  }

  /** How long the object's blocks stay cached: pinned forever, else the most specific TTL rule or the default. */
  ttlOf(obj: CachedObject): number {
    if (obj.pinned) return Infinity
    const rule = obj.entry === undefined ? undefined : this.#rules.ttlFor(obj.entry.ns, obj.entry.key)
    return rule === null ? Infinity : rule ?? this.#config.defaultTtlMs ?? Infinity
  }

  /** Cached objects of this mount that `target` names (by their catalog key). */
  objectsUnder(target: RuleTarget): CachedObject[] {
    const out: CachedObject[] = []
    for (const obj of this.#index.objects()) if (obj.entry !== undefined && matches(target, obj.entry.ns, obj.entry.key)) out.push(obj)
    return out
  }

  /** Drops every block of `obj`; returns the bytes freed. */
  dropObject(obj: CachedObject, reason: DropReason): number {
    let bytes = 0
    for (const b of [...obj.blocks]) if (b !== undefined) { bytes += b.bytes; this.#drop(b, reason) }
    return bytes
  }

  /** Re-evaluates pins after the rules changed, then evicts if unpinned data no longer fits. */
  applyRules(): void {
    this.#index.reapplyPins()
    this.#evictIfNeeded()
  }

  /** Drops every block older than its TTL, yielding to the event loop between slices. */
  async sweepExpired(): Promise<{ blocks: number; bytes: number }> {
    const now = Date.now()
    let blocks = 0
    let bytes = 0
    let seen = 0
    for (const obj of [...this.#index.objects()]) {
      const ttl = this.ttlOf(obj)
      if (ttl !== Infinity) {
        for (const b of [...obj.blocks]) {
          if (b !== undefined && b.storedAtMs + ttl <= now) { blocks++; bytes += b.bytes; this.#drop(b, 'expired') }
        }
      }
      if (++seen % 10_000 === 0) await new Promise(r => setImmediate(r))
    }
    if (blocks > 0) this.#log.info({ blocks, bytes }, 'dropped cached blocks past their TTL')
    return { blocks, bytes }
  }

  /** Whether any TTL applies (otherwise readers skip the expiry check). */
  get ttlActive(): boolean {
    return this.#ttlActive()
  }

  #ttlActive(): boolean {
    return (this.#config.defaultTtlMs ?? Infinity) !== Infinity || this.#rules.hasTtls
  }

  /** Whether a new block may be stored: pinned data alone must never exceed the bound. */
  #fits(addr: BlockAddress, dataBytes: number): boolean {
    const bytes = dataBytes + BLOCK_HEADER_BYTES
    if (bytes > this.#index.maxBytes) return false
    const pinned = addr.key !== undefined && this.#rules.isPinned(this.#ns, addr.key)
    return !pinned || this.#index.pinnedBytes + bytes <= this.#index.maxBytes
  }

  #drop(b: BlockEntry, reason: DropReason): void {
    this.#index.remove(b)
    if (reason === 'expired') { this.#ttlDropped++; this.#ttlDroppedBytes += b.bytes } else { this.#freed++; this.#freedBytes += b.bytes }
    this.#unlinkBlock(relPath({ objectId: b.object.id, index: b.index }))
    for (const l of this.#dropListeners) l(b.object.id, b.index)
  }

  #startWrite(addr: BlockAddress, data: Buffer, preload: boolean): Promise<void> {
    const rel = relPath(addr)
    this.#pendingWrites++
    this.#pendingWriteBytes += data.length + BLOCK_HEADER_BYTES
    const p = this.#writeFile(addr, data, preload)
      .catch((err: unknown) => { this.#onWriteError(err); this.#catalog.settle(addr.objectId); throw err })
      .finally(() => {
        this.#pendingWrites--
        this.#pendingWriteBytes -= data.length + BLOCK_HEADER_BYTES
        if (this.#writing.get(rel) === p) this.#writing.delete(rel)
      })
    this.#writing.set(rel, p)
    return p
  }

  /** The object's catalog line, written once per object before its first block. */
  #catalogEntry(addr: BlockAddress): { entry: CatalogEntry; written: Promise<void> } | undefined {
    if (addr.key === undefined) return undefined
    const known = this.#index.object(addr.objectId)
    if (known?.entry !== undefined) return { entry: known.entry, written: Promise.resolve() }
    return this.#catalog.ensure(addr.objectId, { ns: this.#ns, key: addr.key })
  }

  async #writeFile(addr: BlockAddress, data: Buffer, preload: boolean): Promise<void> {
    const rel = relPath(addr)
    const cataloged = this.#catalogEntry(addr)
    // Catalog first: a block on disk whose key is unknown could not be pinned or freed by path.
    await cataloged?.written.catch((err: unknown) => this.#log.warn({ err }, 'cache catalog write failed'))
    const tmp = join(this.#config.dir, 'tmp', randomBytes(8).toString('hex'))
    const dest = join(this.#config.dir, rel)
    const fh = await open(tmp, 'w')
    try {
      await fh.writev([blockHeader(data), data])
    } finally {
      await fh.close()
    }
    try {
      await rename(tmp, dest)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(tmp, dest)
    }
    this.#files.drop(dest) // a descriptor of a file this one replaced must not serve it
    this.#index.add(addr.objectId, addr.index, BLOCK_HEADER_BYTES + data.length, Date.now(), preload, cataloged?.entry)
    this.#catalog.settle(addr.objectId)
    this.#evictIfNeeded()
    this.#compactCatalogIfBloated()
  }

  #onWriteError(err: unknown): void {
    this.#writeErrors++
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // The disk is fuller than --cache-size assumed: the bound follows statfs for the episode.
      this.#space.noSpace().catch(() => {})
      return
    }
    if (this.#writeErrors <= 10) this.#log.warn({ err }, 'cache block write failed')
  }

  /** A block read from disk: a hit for the policy; a block the index did not know yet (scan running) joins it. */
  #onReadHit(addr: BlockAddress, fileBytes: number): void {
    const b = this.#index.get(addr.objectId, addr.index)
    if (b !== undefined) {
      this.#index.touch(b)
      // Blocks cached before the catalog existed learn their key when read.
      if (b.object.entry === undefined && !this.#catalog.isUnsettled(addr.objectId)) {
        const c = this.#catalogEntry(addr)
        c?.written.then(() => { this.#index.attach(b.object, c.entry); this.#catalog.settle(addr.objectId) }, () => {})
      }
      return
    }
    this.#index.add(addr.objectId, addr.index, fileBytes, Date.now())
  }

  #forget(addr: BlockAddress): void {
    this.#files.drop(join(this.#config.dir, relPath(addr)))
    const b = this.#index.get(addr.objectId, addr.index)
    if (b !== undefined) this.#index.remove(b)
  }

  /** Removes a block file; its cached descriptor goes first, so it is never read again. */
  #unlinkBlock(rel: string): void {
    const path = join(this.#config.dir, rel)
    this.#files.drop(path)
    unlink(path).catch(() => {})
  }

  #evictIfNeeded(): void {
    while (this.#index.usedBytes > this.#index.maxBytes) {
      const b = this.#index.victim()
      if (b === undefined) break // only pinned data is left
      this.#evicted++
      this.#unlinkBlock(relPath({ objectId: b.object.id, index: b.index }))
    }
  }

  /** Rewrites the catalog once most of its lines name objects that are gone. */
  #compactCatalogIfBloated(): void {
    // O(1) per block write: the index's object count bounds the live lines from above.
    const live = this.#index.objectCount + this.#catalog.unsettledCount
    if (!this.#indexReady || this.#catalog.appendedLines < 2 * live + CATALOG_COMPACT_SLACK_LINES) return
    this.#catalog.compact(this.#liveCatalog()).catch((err: unknown) => this.#log.warn({ err }, 'cache catalog compaction failed'))
  }

  /** Catalog entries worth keeping: objects with blocks, and those whose first block is being written. */
  * #liveCatalog(): Generator<[string, CatalogEntry]> {
    for (const obj of this.#index.objects()) if (obj.entry !== undefined) yield [obj.id, obj.entry]
    yield* this.#catalog.unsettled()
  }

  /** Rebuilds the index from the directory: oldest files first, so they are evicted first. */
  async #scan(): Promise<void> {
    const blocksDir = join(this.#config.dir, 'blocks')
    const entries = await this.#catalog.readAll()
    const found: ScannedBlock[] = []
    for (const sub of await readdir(blocksDir)) {
      if (this.#stopping) return
      const names = await readdir(join(blocksDir, sub)).catch(() => [] as string[])
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map(async name => {
          const dot = name.lastIndexOf('.')
          const index = Number(name.slice(dot + 1))
          if (dot <= 0 || !Number.isInteger(index)) return
          const st = await stat(join(blocksDir, sub, name)).catch(() => undefined)
          if (st?.isFile()) found.push({ objectId: name.slice(0, dot), index, bytes: st.size, mtimeMs: st.mtimeMs })
        }))
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs)
    this.#index.restore(found, entries)
    this.#indexReady = true
    this.#log.info({ blocks: this.#index.blocks, usedBytes: this.#index.usedBytes, pinnedBytes: this.#index.pinnedBytes }, 'cache index ready')
    this.#evictIfNeeded()
    await this.#catalog.compact(this.#liveCatalog())
  }
}

/** Catalog lines beyond twice the live objects tolerated before rewriting it. */
const CATALOG_COMPACT_SLACK_LINES = 100_000

function relPath(addr: { objectId: string; index: number }): string {
  return join('blocks', addr.objectId.slice(0, 2), `${addr.objectId}.${addr.index}`)
}
