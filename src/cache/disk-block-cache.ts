/**
 * The persistent block cache on a local directory: the coordinator of its parts.
 *
 * Layout under `cacheDir`:
 *   blocks/, tmp/                          the block files (disk/block-files.ts)
 *   lock                                   flock(2)ed by the daemon using this directory (src/daemon/cache-dir-lock.ts)
 *   objects.jsonl                          objectId → (namespace, key) journal (object-catalog.ts)
 *   index.snapshot                         the index, written at clean close (disk/index-snapshot.ts)
 *   rules.json                             pins and per-path TTLs (cache-rules.ts)
 * `objectId` hashes (namespace, key, ETag, block size), so a changed object never
 * matches old blocks, and blocks survive unmounts, restarts and reboots.
 *
 * Bounded by `maxBytes`: an eviction policy (eviction/) over the in-memory BlockIndex
 * chooses what goes; pinned objects are never evicted; TTLs, pins and `free` are
 * disk/retention.ts. The index is rebuilt at start in the background (reads never wait
 * for it) from the snapshot a clean close left, or else by scanning the directory
 * (disk/index-scan.ts). A read error, a missing file or a corrupt block is a miss,
 * logged, never an error for the reader.
 */
import type { Logger } from 'pino'
import { BlockIndex, type CachedObject } from './block-index.js'
import { CacheRules, namespaceId, type RuleTarget } from './cache-rules.js'
import { ObjectCatalog } from './object-catalog.js'
import { DiskSpaceGuard, statfsProbe } from './disk-space-guard.js'
import { BlockFiles } from './disk/block-files.js'
import type { BlockFileListener } from './open-block-files.js'
import { BlockWrites } from './disk/block-writes.js'
import { CatalogKeeper } from './disk/catalog-keeper.js'
import type { BlockAddress, BlockStore, DiskCacheConfig, DiskCacheStats, DropReason } from './disk/disk-cache-types.js'
import { claimIndexSnapshot, rebuildIndex, saveIndexSnapshot } from './disk/index-rebuild.js'
import type { ClaimedSnapshot } from './disk/index-snapshot.js'
import { CacheRetention } from './disk/retention.js'

export { objectIdOf } from './disk/disk-cache-types.js'
export type { BlockAddress, BlockStore, DiskCacheConfig, DiskCacheStats, DropReason } from './disk/disk-cache-types.js'

export class DiskBlockCache implements BlockStore {
  readonly #log: Logger
  readonly #rules: CacheRules
  readonly #catalog: CatalogKeeper
  readonly #files: BlockFiles
  readonly #ns: string
  readonly #index: BlockIndex
  readonly #retention: CacheRetention
  readonly #writes: BlockWrites
  readonly #clock: () => number
  /** ENOSPC handled once per disk-full episode, the bound restored when space returns. */
  readonly #space: DiskSpaceGuard
  #sweepTimer: NodeJS.Timeout | undefined
  #scanned: Promise<void> = Promise.resolve()
  /** Set by close(): an unfinished scan stops early (the next start scans again). */
  #stopping = false
  #indexReady = false
  #corrupt = 0
  #evicted = 0

  private constructor(config: DiskCacheConfig, log: Logger, rules: CacheRules, catalog: ObjectCatalog, files: BlockFiles) {
    const clock = config.clock ?? Date.now
    const ns = namespaceId(config.namespace ?? '')
    const index = new BlockIndex(config.eviction ?? 'scan-resistant', config.maxBytes, e => rules.isPinned(e.ns, e.key))
    this.#clock = clock
    this.#log = log
    this.#rules = rules
    this.#files = files
    this.#ns = ns
    this.#index = index
    this.#catalog = new CatalogKeeper(catalog, index, ns, log)
    this.#retention = new CacheRetention({ index, rules, files, ns, defaultTtlMs: config.defaultTtlMs ?? Infinity, clock, log })
    this.#writes = new BlockWrites({
      files,
      index,
      rules,
      catalog: this.#catalog,
      ns,
      maxPendingWrites: config.maxPendingWrites,
      clock,
      log,
      onStored: () => {
        this.#evictIfNeeded()
        if (this.#indexReady) this.#catalog.compactIfBloated()
      },
      onNoSpace: () => {
        this.#space.noSpace().catch(() => {})
      },
    })
    this.#space = new DiskSpaceGuard({
      configuredMaxBytes: config.maxBytes,
      usedBytes: () => this.#index.usedBytes,
      probe: config.spaceProbe ?? statfsProbe(config.dir),
      log,
      setMaxBytes: bytes => {
        this.#index.setMaxBytes(bytes)
        this.#evictIfNeeded()
      },
    })
  }

  /** Prepares the directories and starts rebuilding the index in the background. */
  static async open(config: DiskCacheConfig, log: Logger): Promise<DiskBlockCache> {
    const files = await BlockFiles.open(config.dir)
    // Claimed before anything can change the directory (see index-snapshot.ts).
    const snapshot = await claimIndexSnapshot(config.dir, files.blocksDir, log)
    const cache = new DiskBlockCache(config, log, await CacheRules.load(config.dir), await ObjectCatalog.open(config.dir), files)
    cache.#scanned = cache.#scan(snapshot).catch((err: unknown) => log.error({ err }, 'cache index scan failed'))
    if (config.ttlSweepIntervalMs !== undefined) {
      cache.#sweepTimer = setInterval(() => {
        if (cache.#retention.active) cache.sweepExpired().catch((err: unknown) => log.warn({ err }, 'TTL sweep failed'))
      }, config.ttlSweepIntervalMs).unref()
    }
    return cache
  }

  async read(addr: BlockAddress, expectedLength: number): Promise<Buffer | undefined> {
    // Not from the shared pool: a small cached block must not keep a pool slab alive.
    const data = Buffer.allocUnsafeSlow(expectedLength)
    return (await this.readInto(addr, expectedLength, data)) ? data : undefined
  }

  /**
   * Reads the block's data into `target[0, expectedLength)` and verifies it: one
   * positioned read of header and data, the data straight into `target` (for a FUSE
   * read that covers a whole block, the kernel's reply buffer). False on a miss
   * (absent, unreadable, corrupt or expired); `target` then holds nothing meaningful.
   */
  async readInto(addr: BlockAddress, expectedLength: number, target: Buffer): Promise<boolean> {
    if (this.#retention.expireIfStale(addr)) return false
    // Once the scan is done the index knows every block: a miss costs no open(), and a
    // block just freed or expired is not read back while its unlink is under way.
    if (this.#indexReady && !this.has(addr)) {
      const writing = this.#writes.inProgress(addr)
      if (writing === undefined) return false
      await writing.catch(() => {}) // being written: wait rather than fetch it again
      if (!this.has(addr)) return false
    }
    const got = await this.#files.read(addr, expectedLength, target)
    if (got.kind === 'hit') {
      this.#onReadHit(addr, got.fileBytes)
      return true
    }
    if (got.kind === 'unreadable') this.#log.warn({ err: got.err, block: this.#files.pathOf(addr) }, 'cache read failed; treating as a miss')
    if (got.kind === 'corrupt') {
      this.#corrupt++
      this.#log.warn({ block: this.#files.pathOf(addr), reason: got.reason }, 'corrupt cache block dropped; refetching')
    }
    this.#forget(addr)
    return false
  }

  /**
   * The common prefix of the block files of an object (block i is the prefix followed
   * by i) that another reader (the FUSE binding's direct reads) may open and check
   * itself; undefined unless the index knows all `blocks` of it now and none has
   * expired; `forMs`: how long until the first of them expires (Infinity without TTLs).
   * Counts as a read of each for eviction, unless `touch` is false (a lookup, not a read).
   */
  prefixForDirectRead(objectId: string, blocks: number, touch = true): { prefix: string; forMs: number } | undefined {
    if (!this.#indexReady) return undefined
    let untilMs = Infinity
    for (let index = 0; index < blocks; index++) {
      if (this.#index.get(objectId, index) === undefined || this.#retention.expireIfStale({ objectId, index })) return undefined
      if (this.#retention.active) untilMs = Math.min(untilMs, this.#retention.deadlineOf({ objectId, index }))
    }
    if (touch) for (let index = 0; index < blocks; index++) this.#index.touch(this.#index.get(objectId, index) as number)
    return { prefix: this.#files.prefixOf(objectId), forMs: untilMs - this.#clock() }
  }

  /** The common prefix of an object's block files, whether or not any is on disk. */
  blockFilePrefix(objectId: string): string {
    return this.#files.prefixOf(objectId)
  }

  /**
   * Told, from now on, of every block file about to be unlinked or replaced (and of the
   * close): a reader that keeps block files open itself (the FUSE binding) lets go of it
   * first, so it never serves a block the cache no longer holds.
   */
  set blockFileListener(listener: BlockFileListener) {
    this.#files.listener = listener
  }

  async writesSettled(objectId: string, blocks: number): Promise<void> {
    for (let index = 0; index < blocks; index++) await this.#writes.inProgress({ objectId, index })?.catch(() => {})
  }

  /** Stores a block in the background; never fails the caller (settles once `data` is no longer used). */
  write(addr: BlockAddress, data: Buffer): Promise<void> {
    return this.#writes.write(addr, data)
  }

  persist(addr: BlockAddress, data: Buffer): Promise<boolean> {
    return this.#writes.persist(addr, data)
  }

  has(addr: BlockAddress): boolean {
    return this.#index.get(addr.objectId, addr.index) !== undefined
  }

  holds(addr: BlockAddress): boolean {
    return this.has(addr) || this.#writes.inProgress(addr) !== undefined
  }

  markLoaded(addr: BlockAddress): boolean {
    const b = this.#index.get(addr.objectId, addr.index)
    if (b === undefined || this.#retention.expireIfStale(addr)) return false
    this.#index.touch(b, true)
    return true
  }

  deadlineOf(addr: BlockAddress): number {
    return this.#retention.deadlineOf(addr)
  }

  onDrop(listener: (objectId: string, index: number) => void): void {
    this.#retention.onDrop(listener)
  }

  stats(): DiskCacheStats {
    const ix = this.#index
    return {
      usedBytes: ix.usedBytes,
      maxBytes: ix.maxBytes,
      blocks: ix.blocks,
      corruptBlocks: this.#corrupt,
      ...this.#writes.stats(),
      evictedBlocks: this.#evicted,
      indexReady: this.#indexReady,
      policy: ix.policyName,
      pinnedBytes: ix.pinnedBytes,
      pinnedBlocks: ix.pinnedBlocks,
      ...this.#retention.stats(),
      diskFullEpisodes: this.#space.episodes,
      diskFull: this.#space.inEpisode,
    }
  }

  /** Resolves once pending block writes have finished (used at shutdown and by tests). */
  async drain(): Promise<void> {
    await this.#writes.onIdle()
    // The directory is quiet only once the scan and catalog rewrites are over too.
    await this.#scanned
    await this.#catalog.close()
  }

  /** Drains writes, stops the sweep, closes the catalog and writes the index's snapshot (at shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer)
    this.#space.stop()
    this.#stopping = true
    await this.drain()
    this.#files.closeAll()
    await this.#files.unlinksSettled()
    // Only a complete index: an unfinished scan leaves no snapshot, so the next start scans.
    if (!this.#indexReady) return
    await saveIndexSnapshot(this.#files.cacheDir, this.#files.blocksDir, this.#index, this.#log)
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
    return this.#index.maxBytes - this.#index.usedBytes - this.#writes.pendingBytes
  }

  objectsUnder(target: RuleTarget): CachedObject[] {
    return this.#retention.objectsUnder(target)
  }

  dropObject(obj: CachedObject, reason: DropReason): number {
    return this.#retention.dropObject(obj, reason)
  }

  sweepExpired(): Promise<{ blocks: number; bytes: number }> {
    return this.#retention.sweepExpired()
  }

  /** Re-evaluates pins after the rules changed, then evicts if unpinned data no longer fits. */
  applyRules(): void {
    this.#index.reapplyPins()
    this.#evictIfNeeded()
  }

  /** A block read from disk: a hit for the policy; a block the index did not know yet (scan running) joins it. */
  #onReadHit(addr: BlockAddress, fileBytes: number): void {
    const b = this.#index.get(addr.objectId, addr.index)
    if (b === undefined) {
      this.#index.add(addr.objectId, addr.index, fileBytes, this.#clock())
      return
    }
    this.#index.touch(b)
    this.#catalog.learn(b, addr)
  }

  #forget(addr: BlockAddress): void {
    this.#files.forget(addr)
    const b = this.#index.get(addr.objectId, addr.index)
    if (b !== undefined) this.#index.remove(b)
  }

  #evictIfNeeded(): void {
    // Blocks found at start join the policy when the index is ready; until then only new ones compete.
    while (this.#index.overBound) {
      const b = this.#index.victim()
      if (b === undefined) break // only pinned data is left
      this.#evicted++
      this.#files.unlink(b)
    }
  }

  /** Rebuilds the index in the background (disk/index-rebuild.ts), then evicts and compacts the catalog. */
  async #scan(snapshot: ClaimedSnapshot | undefined): Promise<void> {
    const stopping = (): boolean => this.#stopping
    if (!(await rebuildIndex({ snapshot, index: this.#index, blocksDir: this.#files.blocksDir, catalog: this.#catalog, stopping, log: this.#log }))) return
    this.#indexReady = true
    this.#evictIfNeeded()
    await this.#catalog.compact()
  }
}
