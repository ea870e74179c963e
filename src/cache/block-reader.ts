/**
 * Serves byte ranges of one object version from, in order: the memory tier, a load
 * already in flight, and otherwise a new load (BlockFetcher: disk cache, shared tier,
 * ranged S3 GETs).
 *
 * - One in-flight promise per block, shared by every reader, the prefetchers and
 *   `load` (single-flight): concurrent readers of the same data cause one GET; a
 *   reader joining a background load raises its priority (but see the next point).
 * - Small objects (≤ `wholeObjectMaxBytes`) are loaded whole, in one GET.
 * - A random reader (no read-ahead window: `read(…, mayOvertake)`) that needs a block
 *   of a large object that a background whole fetch or load will reach only after
 *   others of its part does not wait behind them: it also fetches its own bytes with a
 *   ranged GET at foreground priority and takes whichever comes first (the block still
 *   comes from the background fetch, once, into the caches).
 * - Whole-object work (load, background whole fetch, cross-file prefetch, adopting an
 *   upload) is ObjectLoads, over the same map.
 */
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { BLOCK_POOL_FREE_BYTES } from '../config/defaults.js'
import { S3CacheFsError, UnexpectedResponseError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { BlockFetcher, blocksAhead, type PendingBlock, type RunProgress } from './block-fetcher.js'
import { BlockPool, type BlockPoolStats } from './block-pool.js'
import { type BlockStore, blockAddress, blockKey, objectIdOf } from './disk/disk-cache-types.js'
import { type FetchQueue, FetchTicket, PRIORITY_FOREGROUND, PRIORITY_LOAD, PRIORITY_PREFETCH } from './fetch-queue.js'
import { MemoryBlocks } from './memory-blocks.js'
import { ObjectLoads } from './object-loads.js'
import { AheadBudget, type PrefetchRange } from './read-ahead.js'
import { blockCount, blockLength, type ObjectVersion } from './object-version.js'
import type { SharedTier } from './shared-tier.js'

export type { ObjectVersion } from './object-version.js'

export interface BlockReaderConfig {
  /** Unit of caching on disk and in memory. */
  readonly blockSize: number
  /** Largest GET for a large object; a multiple of blockSize. */
  readonly partSize: number
  /** Objects up to this size are fetched whole with one GET on first read. */
  readonly wholeObjectMaxBytes: number
  /** Bytes of verified blocks kept in memory. */
  readonly memoryCacheBytes: number
  /** The most all read-ahead windows hold together, in room the memory tier lends them beyond its size. */
  readonly readAheadBudgetBytes: number
  /** Identifies the bucket (and prefix) in cache keys. */
  readonly namespace: string
  /** Milliseconds since the epoch, for the memory tier's TTL deadlines; default Date.now. */
  readonly clock?: () => number
}

export interface BlockReaderStats {
  /** Block lookups answered from memory. */
  readonly memoryHits: number
  /** Blocks loaded into memory from the disk cache. */
  readonly diskHits: number
  /** Blocks loaded into memory from the store. */
  readonly fetchedBlocks: number
  readonly bytesFromDisk: number
  readonly bytesFromStore: number
  /** Bytes returned to readers... */
  readonly bytesServed: number
  /** ...of which from blocks already cached (memory or disk, prefetched or loaded before), and from blocks the read waited to fetch. */
  readonly bytesServedFromCache: number
  readonly bytesServedFromStore: number
  readonly inFlightBlocks: number
  /**
   * Reads of a block that a background whole fetch (or a load) had queued but would reach
   * only after other blocks, which fetched the reader's own bytes with a ranged GET of
   * their own instead of waiting: how many, how many of those came back first, and the
   * bytes those brought.
   */
  readonly overtakes: {
    readonly reads: number
    readonly won: number
    /** Bytes of the ranged GETs that came first (served)... */
    readonly bytes: number
    /** ...and of every ranged GET that completed, won or not (fetched). */
    readonly fetchedBytes: number
    /** Ranged GETs not sent because the block came first, and ranged GETs that failed. */
    readonly skipped: number
    readonly failed: number
  }
  /** Reads that failed, by error code (what readers saw as errors). */
  readonly readErrorsByCode: Readonly<Record<string, number>>
  /** Fetched blocks' buffers, made and reused (BlockPool). */
  readonly blockBuffers: BlockPoolStats
}

export class BlockReader {
  readonly #config: BlockReaderConfig
  readonly #disk: BlockStore
  readonly #queue: FetchQueue
  readonly #memory: MemoryBlocks
  readonly #pool: BlockPool
  readonly #fetcher: BlockFetcher
  readonly #loads: ObjectLoads
  readonly #client: ObjectClient
  readonly #inFlight = new Map<string, PendingBlock>()
  /** The fetch behind each in-flight block, so a reader joining it can raise its priority. */
  readonly #tickets = new Map<string, FetchTicket>()
  readonly #objectIds = new LRUCache<string, string>({ max: 100_000 })
  #memoryHits = 0
  #diskDirectHits = 0
  #bytesFromDiskDirect = 0
  #bytesServed = 0
  #bytesServedFromStore = 0
  #overtakes = 0
  #overtakesWon = 0
  #overtakesSkipped = 0
  #overtakesFailed = 0
  #bytesOvertaken = 0
  #bytesOvertakeFetched = 0
  readonly #readErrors = new Map<string, number>()
  /** The read-ahead windows of every open file together: their blocks wait in the memory tier, in room it lends them, until read. */
  readonly aheadBudget: AheadBudget

  constructor(config: BlockReaderConfig, client: ObjectClient, disk: BlockStore, queue: FetchQueue, log: Logger, tier?: SharedTier) {
    this.#config = config
    this.#client = client
    this.#disk = disk
    this.#queue = queue
    const budget = new AheadBudget(config.readAheadBudgetBytes, config.blockSize, () => this.#memory.trim())
    this.aheadBudget = budget
    this.#pool = new BlockPool(config.blockSize, BLOCK_POOL_FREE_BYTES)
    this.#memory = new MemoryBlocks(config.memoryCacheBytes, config.clock, { maxBytes: budget.limitBytes, bytes: () => budget.lentBytes() }, this.#pool)
    this.#fetcher = new BlockFetcher({ ...config, client, disk, queue, memory: this.#memory, tier, pool: this.#pool })
    // Loads keep the blocks they wait for (to persist them) without counting: never reused.
    const escaping = (blocks: Map<number, Promise<Buffer>>): Map<number, Promise<Buffer>> => {
      for (const [i, block] of blocks) {
        const escaped = block.then(b => {
          this.#pool.escape(b)
          return b
        })
        // Loads wait on some of the blocks only (a small object's are all returned): a failed one nobody awaits is not an unhandled rejection.
        escaped.catch(() => {})
        blocks.set(i, escaped)
      }
      return blocks
    }
    this.#loads = new ObjectLoads(config, { blocks: (o, f, e, p) => escaping(this.#ensure(o, f, e, p)), objectId: o => this.#objectId(o) }, disk, log)
    // Data an operator freed or that expired must not live on in memory either.
    disk.onDrop((objectId, index) => this.#memory.delete(blockKey(objectId, index)))
  }

  /**
   * Bytes [offset, offset+length) of `obj`, fewer at the end of the object. `mayOvertake`:
   * the caller reads at random (no read-ahead window), so a block a background whole fetch
   * reaches late is overtaken with a ranged GET of the bytes asked for.
   */
  async read(obj: ObjectVersion, offset: number, length: number, mayOvertake = false): Promise<Buffer> {
    const held = new Held(this.#pool)
    try {
      const parts = await this.#parts(obj, offset, length, mayOvertake, held.add)
      // One piece is returned as a view of its block, the caller's to keep: that block is never reused. Several are copied.
      if (parts.length !== 1) return Buffer.concat(parts)
      for (const b of held.blocks) this.#pool.escape(b)
      return parts[0] as Buffer
    } finally {
      held.dropAll()
    }
  }

  /**
   * The pieces of blocks holding bytes [offset, offset+length) of `obj` (fewer at its end).
   * `got` is called with each block as soon as the wait for it ends, in the same turn of the
   * event loop (before its buffer could be reused: BlockPool), to hold or escape it.
   */
  async #parts(obj: ObjectVersion, offset: number, length: number, mayOvertake: boolean, got: (block: Buffer) => void, asked?: () => void): Promise<Buffer[]> {
    const end = Math.min(obj.size, offset + length)
    if (offset >= end) {
      asked?.()
      return []
    }
    const bs = this.#config.blockSize
    const first = Math.floor(offset / bs)
    const last = Math.floor((end - 1) / bs)
    const lagging = mayOvertake ? new Map<number, FetchTicket>() : undefined
    const blocks = this.#ensure(obj, first, last + 1, PRIORITY_FOREGROUND, lagging)
    asked?.()
    let fromStore = 0
    const piece = async (i: number): Promise<Buffer> => {
      const block = blocks.get(i) as Promise<Buffer>
      const from = i === first ? offset - i * bs : 0
      const to = i === last ? end - i * bs : blockLength(obj, i, bs)
      const behind = lagging?.get(i)
      if (behind !== undefined) {
        const ranged = await this.#overtake(obj, block, behind, i * bs + from, i * bs + to)
        // Either way the reader waited on the store: what it got was not cached before. The
        // block's own on-demand bytes (if someone raised its fetch) are taken, not counted again.
        fromStore += to - from
        if (ranged !== undefined) {
          block.then(
            data => this.#fetcher.takeMissBytes(data, to - from),
            () => {},
          )
          return ranged
        }
        const data = await block
        got(data)
        this.#fetcher.takeMissBytes(data, to - from)
        return data.subarray(from, to)
      }
      const data = await block
      got(data)
      fromStore += this.#fetcher.takeMissBytes(data, to - from)
      return data.subarray(from, to)
    }
    let parts: Buffer[]
    try {
      parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, n) => piece(first + n)))
    } catch (err) {
      const code = err instanceof S3CacheFsError ? err.code : 'UNKNOWN'
      this.#readErrors.set(code, (this.#readErrors.get(code) ?? 0) + 1)
      throw err
    }
    this.#bytesServed += end - offset
    this.#bytesServedFromStore += fromStore
    return parts
  }

  /**
   * Reads bytes [offset, offset+length) of `obj` into `target`; resolves with the count.
   * A read of exactly one whole block that is on disk, and neither in memory nor in
   * flight, goes from the block file straight into `target` (one `preadv`, no buffer of
   * ours, no copy) and leaves the memory tier alone: this is every read of a small
   * file (the kernel asks for 128 KiB), and the page cache keeps what it reads next.
   * `ahead`: the reader's read-ahead window, prefetched as soon as this read's own blocks
   * are asked for (so they queue first), not once they have come: a cold sequential read
   * then has its whole window in flight ~100 ms after its first read instead of ~270.
   */
  async readInto(obj: ObjectVersion, offset: number, length: number, target: Buffer, mayOvertake = false, ahead?: PrefetchRange): Promise<number> {
    const prefetchAhead = ahead === undefined ? undefined : (): void => this.prefetch(obj, ahead.start, ahead.endExclusive)
    const bs = this.#config.blockSize
    const index = Math.floor(offset / bs)
    const len = offset < obj.size ? blockLength(obj, index, bs) : 0
    if (len > 0 && offset === index * bs && length >= len && target.length >= len) {
      const objectId = this.#objectId(obj)
      const id = blockKey(objectId, index)
      if (!this.#memory.has(id) && !this.#inFlight.has(id) && (await this.#disk.readInto(blockAddress(objectId, index, obj.key), len, target))) {
        this.#diskDirectHits++
        this.#bytesFromDiskDirect += len
        this.#bytesServed += len
        prefetchAhead?.()
        return len
      }
    }
    const held = new Held(this.#pool)
    try {
      const parts = await this.#parts(obj, offset, length, mayOvertake, held.add, prefetchAhead)
      let n = 0
      for (const part of parts) n += part.copy(target, n)
      return n
    } finally {
      held.dropAll()
    }
  }

  /**
   * The reader's bytes [start, end) of a block a background fetch (`ticket`) will reach
   * late: a ranged GET of just those, at foreground priority, raced against the block.
   * Resolves with the ranged bytes if they came first, undefined if the block did (the
   * GET is then not sent if it had not started) or if the GET failed (the background
   * fetch is then raised to foreground priority, and the block is the answer, or the error).
   */
  async #overtake(obj: ObjectVersion, block: Promise<Buffer>, ticket: FetchTicket, start: number, end: number): Promise<Buffer | undefined> {
    this.#overtakes++
    let blockCame = false
    const ranged = this.#queue.run(end - start, PRIORITY_FOREGROUND, async () => {
      if (blockCame) {
        this.#overtakesSkipped++
        return undefined
      }
      const data = await this.#client.getRange({ key: obj.key, start, endExclusive: end, ifMatch: obj.etag })
      if (data.length !== end - start) throw new UnexpectedResponseError(`${obj.key}: expected ${end - start} bytes at ${start}, got ${data.length}`)
      this.#bytesOvertakeFetched += data.length
      return data
    })
    ranged.catch(() => {
      this.#overtakesFailed++
      if (!blockCame) this.#queue.raise(ticket, PRIORITY_FOREGROUND)
    })
    const fromBlock = block.then(() => {
      blockCame = true
      return undefined
    })
    try {
      const first = await Promise.any([fromBlock, ranged.then(data => data ?? fromBlock)])
      if (first !== undefined) {
        this.#overtakesWon++
        this.#bytesOvertaken += first.length
      }
      return first
    } catch {
      return undefined
    }
  }

  /**
   * Starts fetching the blocks holding bytes [start, endExclusive) that are not on disk, if
   * the queue has room; never fails. A block already on disk (or being written there) is not read ahead into the
   * memory tier: its reader reads it straight from the block file when it gets there (one
   * positioned read, `readInto`), and a window that runs past where its reader stops (four
   * readers of one shard, each reading a quarter, reach into the next one's blocks) costs no
   * disk read and no memory.
   */
  prefetch(obj: ObjectVersion, start: number, endExclusive: number): void {
    const end = Math.min(endExclusive, obj.size)
    if (start >= end || !this.#queue.acceptsPrefetch()) return
    const bs = this.#config.blockSize
    const objectId = this.#objectId(obj)
    const last = Math.floor((end - 1) / bs)
    let from = -1
    for (let i = Math.floor(start / bs); i <= last + 1; i++) {
      const skip = i > last || this.#disk.holds(blockAddress(objectId, i, obj.key))
      if (!skip && from < 0) from = i
      else if (skip && from >= 0) {
        this.#ensure(obj, from, i, PRIORITY_PREFETCH)
        from = -1
      }
    }
  }

  /** Where new block buffers come from from now on (the binding's page-aligned memory: vendor/fuse-native/block-writes.h). */
  useBlockAllocator(alloc: (bytes: number) => Buffer): void {
    this.#pool.allocator = alloc
  }

  adopt(obj: ObjectVersion, readAt: (position: number, length: number) => Promise<Buffer>): Promise<void> {
    return this.#loads.adopt(obj, readAt)
  }

  preload(obj: ObjectVersion, onBytes?: (bytes: number) => void, windowParts?: number): Promise<number> {
    return this.#loads.preload(obj, onBytes, windowParts)
  }

  fetchWholeInBackground(obj: ObjectVersion): void {
    this.#loads.fetchWholeInBackground(obj)
  }

  prefetchWhole(obj: ObjectVersion, priority: number): Promise<number> {
    return this.#loads.prefetchWhole(obj, priority)
  }

  /**
   * Where a FUSE binding may read `obj` from itself (directly, off the event loop): the
   * prefix of its block files, only when every block is on disk now (a partly cached
   * object is read here, where read-ahead and random-access detection see its reads).
   * Counts as a use of the blocks for eviction; the binding checks each block and falls
   * back to `readInto` for one it cannot serve. `forMs`: how long until the first block's
   * TTL ends (Infinity without TTLs). `touch` false: asked for a lookup, not a read (no use counted).
   */
  directReadPrefix(obj: ObjectVersion, touch = true): { prefix: string; blockSize: number; forMs: number } | undefined {
    if (obj.size === 0) return undefined
    const found = this.#disk.prefixForDirectRead(this.#objectId(obj), this.blockCount(obj), touch)
    return found === undefined ? undefined : { prefix: found.prefix, blockSize: this.#config.blockSize, forMs: found.forMs }
  }

  /** The disk cache's name of `obj` (40 hex digits). */
  objectId(obj: ObjectVersion): string {
    return this.#objectId(obj)
  }

  /** Reads block `index` of `obj` from disk only (verified), into `target`; false when it is not there or corrupt. */
  readBlockFromDisk(obj: ObjectVersion, index: number, target: Buffer): Promise<boolean> {
    return this.#disk.readInto(blockAddress(this.#objectId(obj), index, obj.key), target.length, target)
  }

  /** Calls `listener` with each object a load or a background whole fetch left entirely on disk. */
  onObjectLoaded(listener: (obj: ObjectVersion) => void): void {
    this.#loads.onLoaded = listener
  }

  /** Calls `listener` with the id of each object a block of which is freed or expires. */
  onDrop(listener: (objectId: string) => void): void {
    this.#disk.onDrop(objectId => listener(objectId))
  }

  /** Resolves once the disk writes under way now of `obj`'s blocks have ended. */
  blocksWritten(obj: ObjectVersion): Promise<void> {
    return this.#disk.writesSettled(this.#objectId(obj), this.blockCount(obj))
  }

  /** The prefix `directReadPrefix` gives for `obj` when all its blocks are on disk, whether they are or not. */
  blockFilePrefix(obj: ObjectVersion): string {
    return this.#disk.blockFilePrefix(this.#objectId(obj))
  }

  /** Whether reading `obj` would cost no GET now: its blocks (the first, for a large object) are in memory or on disk. */
  isCached(obj: ObjectVersion): boolean {
    const objectId = this.#objectId(obj)
    const count = obj.size <= this.#config.wholeObjectMaxBytes ? this.blockCount(obj) : Math.min(1, this.blockCount(obj))
    for (let i = 0; i < count; i++) {
      if (!this.#memory.has(blockKey(objectId, i)) && !this.#disk.has(blockAddress(objectId, i))) return false
    }
    return true
  }

  /** Drops blocks [first, endExclusive) of `obj` from the memory tier (a sequential reader read through them). */
  dropFromMemory(obj: ObjectVersion, first: number, endExclusive: number): void {
    const objectId = this.#objectId(obj)
    for (let i = first; i < endExclusive; i++) this.#memory.delete(blockKey(objectId, i))
  }

  get blockSize(): number {
    return this.#config.blockSize
  }

  get wholeObjectMaxBytes(): number {
    return this.#config.wholeObjectMaxBytes
  }

  /** Bytes the memory tier counts, and the bytes it really keeps alive. */
  memoryUsage(): { countedBytes: number; retainedBytes: number } {
    return this.#memory.usage()
  }

  blockCount(obj: ObjectVersion): number {
    return blockCount(obj, this.#config.blockSize)
  }

  stats(): BlockReaderStats {
    const f = this.#fetcher
    return {
      memoryHits: this.#memoryHits,
      diskHits: f.diskHits + this.#diskDirectHits,
      fetchedBlocks: f.fetchedBlocks,
      bytesFromDisk: f.bytesFromDisk + this.#bytesFromDiskDirect,
      bytesFromStore: f.bytesFromStore,
      bytesServed: this.#bytesServed,
      bytesServedFromCache: this.#bytesServed - this.#bytesServedFromStore,
      bytesServedFromStore: this.#bytesServedFromStore,
      inFlightBlocks: this.#inFlight.size,
      overtakes: {
        reads: this.#overtakes,
        won: this.#overtakesWon,
        bytes: this.#bytesOvertaken,
        fetchedBytes: this.#bytesOvertakeFetched,
        skipped: this.#overtakesSkipped,
        failed: this.#overtakesFailed,
      },
      readErrorsByCode: Object.fromEntries(this.#readErrors),
      blockBuffers: this.#pool.stats(),
    }
  }

  /**
   * A promise per block in range; starts loading the blocks nobody is loading yet. A reader
   * joining a block in flight raises that fetch to its own priority, unless it passes
   * `lagging` and the block of a large object waits on a background whole fetch that has
   * other blocks to deliver first (and that this read does not wait on for an earlier
   * block anyway): the block and that fetch's ticket then go into `lagging`, to overtake.
   */
  #ensure(obj: ObjectVersion, first: number, endExclusive: number, priority: number, lagging?: Map<number, FetchTicket>): Map<number, Promise<Buffer>> {
    const whole = obj.size <= this.#config.wholeObjectMaxBytes
    const from = whole ? 0 : first
    const to = whole ? this.blockCount(obj) : endExclusive
    const objectId = this.#objectId(obj)
    const result = new Map<number, Promise<Buffer>>()
    const missing: PendingBlock[] = []
    const ticket = new FetchTicket(priority)
    /** Background streams this read waits on for an earlier block: a later block of theirs is not overtaken. */
    const waitedOn = lagging === undefined ? undefined : new Set<RunProgress>()
    for (let i = from; i < to; i++) {
      const id = blockKey(objectId, i)
      const mem = this.#memory.get(id)
      if (mem !== undefined) {
        this.#memoryHits++
        result.set(i, Promise.resolve(mem))
        continue
      }
      const pending = this.#inFlight.get(id)
      if (pending !== undefined) {
        const joined = this.#tickets.get(id)
        if (lagging !== undefined && waitedOn !== undefined && joined !== undefined && !whole && lagsBehind(pending, joined, waitedOn)) lagging.set(i, joined)
        else if (joined !== undefined) this.#queue.raise(joined, priority)
        // A stream this read waits on (not one it overtakes): its later blocks come after this one anyway.
        if (waitedOn !== undefined && pending.stream !== undefined && !lagging?.has(i)) waitedOn.add(pending.stream)
        result.set(i, pending.promise)
        continue
      }
      const p = pendingBlock(i)
      this.#inFlight.set(id, p)
      this.#tickets.set(id, ticket)
      const settled = () => {
        this.#inFlight.delete(id)
        this.#tickets.delete(id)
      }
      p.promise.then(settled, settled)
      result.set(i, p.promise)
      missing.push(p)
    }
    if (missing.length > 0) {
      this.#fetcher.load(obj, objectId, missing, ticket, whole).catch((err: unknown) => {
        for (const p of missing) p.reject(err)
      })
    }
    return result
  }

  #objectId(obj: ObjectVersion): string {
    const k = `${obj.key}\0${obj.etag}`
    let id = this.#objectIds.get(k)
    if (id === undefined) {
      id = objectIdOf(this.#config.namespace, obj.key, obj.etag, this.#config.blockSize)
      this.#objectIds.set(k, id)
    }
    return id
  }
}

/**
 * Whether a block in flight waits behind other blocks of a background whole fetch, a load or
 * an announced-order prefetch (asked at PRIORITY_LOAD; not read-ahead, which its reader reads
 * in order): its GET, queued or streaming, has at least one other block to deliver first, and
 * the read does not wait on that GET for an earlier block anyway.
 */
function lagsBehind(p: PendingBlock, ticket: FetchTicket, waitedOn: ReadonlySet<RunProgress>): boolean {
  if (ticket.origin !== PRIORITY_LOAD || p.stream === undefined || waitedOn.has(p.stream)) return false
  const ahead = blocksAhead(p)
  return ahead !== undefined && ahead >= 1
}

/**
 * The blocks one read holds from the end of its wait for each until it has copied their bytes
 * out (BlockPool: not reused meanwhile). A block that comes after the read gave up (another
 * block failed) is not held: the read no longer looks at it.
 */
class Held {
  readonly blocks: Buffer[] = []
  #done = false
  readonly #pool: BlockPool

  constructor(pool: BlockPool) {
    this.#pool = pool
  }

  readonly add = (block: Buffer): void => {
    if (this.#done) return
    this.#pool.hold(block)
    this.blocks.push(block)
  }

  dropAll(): void {
    this.#done = true
    for (const b of this.blocks) this.#pool.drop(b)
  }
}

function pendingBlock(index: number): PendingBlock {
  let resolve!: (b: Buffer) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<Buffer>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Prefetched blocks may fail with nobody waiting: that is not an unhandled rejection.
  promise.catch(() => {})
  return { index, promise, resolve, reject }
}
