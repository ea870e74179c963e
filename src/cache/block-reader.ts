/**
 * Serves byte ranges of one object version from, in order: the memory block cache,
 * a fetch already in flight, the disk block cache, the shared tier when there is one
 * (`SharedTier`: other nodes' fetches), and finally ranged S3 GETs.
 *
 * - One in-flight promise per block, shared by every reader and by the prefetcher
 *   (single-flight): concurrent readers of the same data cause one GET.
 * - Small objects (≤ `wholeObjectMaxBytes`) are fetched whole, in one GET.
 * - Larger objects are fetched in runs of missing blocks, aligned to `partSize`,
 *   one GET per run, through the bounded FetchQueue.
 * - Every GET carries If-Match with the ETag the reader opened, so a changed
 *   object surfaces as PreconditionFailedError instead of mixing versions.
 */
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { UnexpectedResponseError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import { type BlockAddress, type DiskBlockCache, objectIdOf } from './disk-block-cache.js'
import { type FetchQueue, FetchTicket, PRIORITY_FOREGROUND, PRIORITY_LOAD, PRIORITY_PREFETCH } from './fetch-queue.js'
import { LOAD_WINDOW_PARTS, WHOLE_FETCH_PARTS } from '../config/defaults.js'
import { S3CacheFsError } from '../errors.js'
import type { SharedTier } from './shared-tier.js'

export interface BlockReaderConfig {
  /** Unit of caching on disk and in memory. */
  readonly blockSize: number
  /** Largest GET for a large object; a multiple of blockSize. */
  readonly partSize: number
  /** Objects up to this size are fetched whole with one GET on first read. */
  readonly wholeObjectMaxBytes: number
  /** Bytes of verified blocks kept in memory. */
  readonly memoryCacheBytes: number
  /** Identifies the bucket (and prefix) in cache keys. */
  readonly namespace: string
}

/** One version of one object, as opened by a reader. */
export interface ObjectVersion {
  readonly key: string
  readonly etag: string
  readonly size: number
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
  /** Reads that failed, by error code (what readers saw as errors). */
  readonly readErrorsByCode: Readonly<Record<string, number>>
}

interface Deferred {
  readonly index: number
  readonly promise: Promise<Buffer>
  resolve(b: Buffer): void
  reject(e: unknown): void
}

export class BlockReader {
  readonly #config: BlockReaderConfig
  readonly #client: ObjectClient
  readonly #disk: DiskBlockCache
  readonly #queue: FetchQueue
  readonly #log: Logger
  readonly #tier: SharedTier | undefined
  readonly #memory: LRUCache<string, Buffer>
  readonly #inFlight = new Map<string, Promise<Buffer>>()
  /** The fetch behind each in-flight block, so a reader joining it can raise its priority. */
  readonly #tickets = new Map<string, FetchTicket>()
  readonly #objectIds = new LRUCache<string, string>({ max: 100_000 })
  /** Objects being fetched whole in the background (random access), by object id. */
  readonly #wholeFetches = new Set<string>()
  #memoryHits = 0
  #diskHits = 0
  #fetchedBlocks = 0
  #bytesFromDisk = 0
  #bytesFromStore = 0
  #bytesServed = 0
  #bytesServedFromStore = 0
  /**
   * Blocks fetched on a reader's demand (at foreground priority, or raised to it by a reader
   * that joined), with the bytes of each not yet served: those count as fetched for readers,
   * everything else served (read before, loaded, prefetched in time) as served from the cache.
   */
  readonly #missBytes = new WeakMap<Buffer, number>()
  readonly #readErrors = new Map<string, number>()

  constructor(config: BlockReaderConfig, client: ObjectClient, disk: DiskBlockCache, queue: FetchQueue, log: Logger, tier?: SharedTier) {
    this.#config = config
    this.#tier = tier
    this.#client = client
    this.#disk = disk
    this.#queue = queue
    this.#log = log
    this.#memory = new LRUCache<string, Buffer>({ maxSize: config.memoryCacheBytes, sizeCalculation: b => Math.max(1, b.length) })
    // Data an operator freed or that expired must not live on in memory either.
    disk.onDrop((objectId, index) => this.#memory.delete(`${objectId}.${index}`))
  }

  /** Bytes [offset, offset+length) of `obj`, fewer at the end of the object. */
  async read(obj: ObjectVersion, offset: number, length: number): Promise<Buffer> {
    const end = Math.min(obj.size, offset + length)
    if (offset >= end) return Buffer.alloc(0)
    const bs = this.#config.blockSize
    const first = Math.floor(offset / bs)
    const last = Math.floor((end - 1) / bs)
    const blocks = this.#ensure(obj, first, last + 1, PRIORITY_FOREGROUND)
    const parts: Buffer[] = []
    let fromStore = 0
    try {
      for (let i = first; i <= last; i++) {
        const block = await (blocks.get(i) as Promise<Buffer>)
        const from = i === first ? offset - i * bs : 0
        const to = i === last ? end - i * bs : block.length
        fromStore += this.#takeMissBytes(block, to - from)
        parts.push(block.subarray(from, to))
      }
    } catch (err) {
      const code = err instanceof S3CacheFsError ? err.code : 'UNKNOWN'
      this.#readErrors.set(code, (this.#readErrors.get(code) ?? 0) + 1)
      throw err
    }
    const out = parts.length === 1 ? parts[0] as Buffer : Buffer.concat(parts)
    this.#bytesServed += out.length
    this.#bytesServedFromStore += fromStore
    return out
  }

  /**
   * Reads bytes [offset, offset+length) of `obj` into `target`; resolves with the count.
   * A read of exactly one whole block that is on disk, and neither in memory nor in
   * flight, goes from the block file straight into `target` (one `preadv`, no buffer of
   * ours, no copy) and leaves the memory cache alone: this is every read of a small
   * file (the kernel asks for 128 KiB), and the page cache keeps what it reads next.
   */
  async readInto(obj: ObjectVersion, offset: number, length: number, target: Buffer): Promise<number> {
    const bs = this.#config.blockSize
    const index = Math.floor(offset / bs)
    const blockLength = offset < obj.size ? this.#blockLength(obj, index) : 0
    if (blockLength > 0 && offset === index * bs && length >= blockLength && target.length >= blockLength) {
      const objectId = this.#objectId(obj)
      const id = `${objectId}.${index}`
      if (!this.#memory.has(id) && !this.#inFlight.has(id) &&
        await this.#disk.readInto(this.#addr(objectId, index, obj.key), blockLength, target)) {
        this.#diskHits++
        this.#bytesFromDisk += blockLength
        this.#bytesServed += blockLength
        return blockLength
      }
    }
    return (await this.read(obj, offset, length)).copy(target)
  }

  /** Starts loading the blocks holding bytes [start, endExclusive) if the queue has room; never fails. */
  prefetch(obj: ObjectVersion, start: number, endExclusive: number): void {
    const end = Math.min(endExclusive, obj.size)
    if (start >= end || !this.#queue.acceptsPrefetch()) return
    const bs = this.#config.blockSize
    this.#ensure(obj, Math.floor(start / bs), Math.floor((end - 1) / bs) + 1, PRIORITY_PREFETCH)
  }

  /**
   * Caches the content of a version just uploaded through the mount, read back from
   * its staging file, so reading it again costs no GET.
   */
  async adopt(obj: ObjectVersion, readAt: (position: number, length: number) => Promise<Buffer>): Promise<void> {
    const objectId = this.#objectId(obj)
    for (let i = 0; i < this.blockCount(obj); i++) {
      const data = await readAt(i * this.#config.blockSize, this.#blockLength(obj, i))
      if (data.length !== this.#blockLength(obj, i)) return
      this.#disk.write(this.#addr(objectId, i, obj.key), data)
    }
  }

  /**
   * Puts every block of `obj` in the disk cache, for `s3cachefs load`: through the
   * same in-flight map and FetchQueue as reads (a reader and the load never fetch a
   * block twice), at PRIORITY_LOAD, never dropped as prefetch is. Large objects go
   * a window of parts at a time, so memory stays bounded. Resolves with the bytes
   * now on disk (fewer than the size only if the disk refused blocks); `onBytes`
   * hears of each block as it is stored, for progress.
   */
  async preload(obj: ObjectVersion, onBytes: (bytes: number) => void = () => {}, windowParts = LOAD_WINDOW_PARTS): Promise<number> {
    const objectId = this.#objectId(obj)
    const count = this.blockCount(obj)
    const perPart = Math.max(1, Math.floor(this.#config.partSize / this.#config.blockSize))
    const window = obj.size <= this.#config.wholeObjectMaxBytes ? count : perPart * windowParts
    let cached = 0
    for (let start = 0; start < count; start += window) {
      const missing: number[] = []
      for (let i = start; i < Math.min(count, start + window); i++) {
        if (!this.#disk.markLoaded(this.#addr(objectId, i, obj.key))) { missing.push(i); continue }
        cached += this.#blockLength(obj, i)
        onBytes(this.#blockLength(obj, i))
      }
      if (missing.length === 0) continue
      const blocks = this.#ensure(obj, missing[0] as number, (missing[missing.length - 1] as number) + 1, PRIORITY_LOAD)
      await Promise.all(missing.map(async i => {
        const data = await (blocks.get(i) as Promise<Buffer>)
        if (await this.#disk.persist(this.#addr(objectId, i, obj.key), data)) cached += data.length
        onBytes(data.length)
      }))
    }
    return cached
  }

  /**
   * Fetches every block of `obj` in the background, `WHOLE_FETCH_PARTS` parts at a time, at
   * PRIORITY_LOAD: foreground reads go first and share its in-flight blocks. Once per version.
   */
  fetchWholeInBackground(obj: ObjectVersion): void {
    const objectId = this.#objectId(obj)
    if (this.#wholeFetches.has(objectId)) return
    this.#wholeFetches.add(objectId)
    const t0 = performance.now()
    this.preload(obj, () => {}, WHOLE_FETCH_PARTS).then(
      bytes => this.#log.info({ key: obj.key, bytes, ms: Math.round(performance.now() - t0) }, 'fetched a randomly read object whole'),
      (err: unknown) => this.#log.warn({ err, key: obj.key }, 'background fetch of a randomly read object failed'),
    ).finally(() => this.#wholeFetches.delete(objectId))
  }

  /**
   * Brings the blocks of `obj` that are not on disk into the disk cache at `priority`
   * (cross-file prefetch), through the same in-flight map and queue as reads. Resolves
   * with the bytes fetched (0 when everything was cached already).
   */
  async prefetchWhole(obj: ObjectVersion, priority: number): Promise<number> {
    const objectId = this.#objectId(obj)
    const missing: number[] = []
    for (let i = 0; i < this.blockCount(obj); i++) if (!this.#disk.has(this.#addr(objectId, i))) missing.push(i)
    if (missing.length === 0) return 0
    const blocks = this.#ensure(obj, missing[0] as number, (missing[missing.length - 1] as number) + 1, priority)
    let bytes = 0
    await Promise.all(missing.map(async i => {
      const data = await (blocks.get(i) as Promise<Buffer>)
      if (await this.#disk.persist(this.#addr(objectId, i, obj.key), data)) bytes += data.length
    }))
    return bytes
  }

  /**
   * Where a FUSE binding may read `obj` from itself (directly, off the event loop): the
   * prefix of its block files, only when every block is on disk now (a partly cached
   * object is read here, where read-ahead and random-access detection see its reads).
   * Counts as a use of the blocks for eviction; the binding checks each block and falls
   * back to `readInto` for one it cannot serve.
   */
  directReadPrefix(obj: ObjectVersion): { prefix: string; blockSize: number } | undefined {
    if (obj.size === 0) return undefined
    const prefix = this.#disk.prefixForDirectRead(this.#objectId(obj), this.blockCount(obj))
    return prefix === undefined ? undefined : { prefix, blockSize: this.#config.blockSize }
  }

  /** Whether reading `obj` would cost no GET now: its blocks (the first, for a large object) are in memory or on disk. */
  isCached(obj: ObjectVersion): boolean {
    const objectId = this.#objectId(obj)
    const count = obj.size <= this.#config.wholeObjectMaxBytes ? this.blockCount(obj) : Math.min(1, this.blockCount(obj))
    for (let i = 0; i < count; i++) {
      if (!this.#memory.has(`${objectId}.${i}`) && !this.#disk.has(this.#addr(objectId, i))) return false
    }
    return true
  }

  get wholeObjectMaxBytes(): number {
    return this.#config.wholeObjectMaxBytes
  }

  /**
   * Bytes the memory cache counts, and the bytes it really keeps alive (the distinct
   * allocations behind its blocks): the two agree when no block is a view into more.
   */
  memoryUsage(): { countedBytes: number; retainedBytes: number } {
    const buffers = new Set<ArrayBufferLike>()
    let retainedBytes = 0
    for (const b of this.#memory.values()) {
      if (buffers.has(b.buffer)) continue
      buffers.add(b.buffer)
      retainedBytes += b.buffer.byteLength
    }
    return { countedBytes: this.#memory.calculatedSize, retainedBytes }
  }

  blockCount(obj: ObjectVersion): number {
    return Math.ceil(obj.size / this.#config.blockSize)
  }

  stats(): BlockReaderStats {
    return {
      memoryHits: this.#memoryHits, diskHits: this.#diskHits, fetchedBlocks: this.#fetchedBlocks,
      bytesFromDisk: this.#bytesFromDisk, bytesFromStore: this.#bytesFromStore, bytesServed: this.#bytesServed,
      bytesServedFromCache: this.#bytesServed - this.#bytesServedFromStore, bytesServedFromStore: this.#bytesServedFromStore,
      inFlightBlocks: this.#inFlight.size, readErrorsByCode: Object.fromEntries(this.#readErrors),
    }
  }

  /** A promise per block in range; starts loading the blocks nobody is loading yet. */
  #ensure(obj: ObjectVersion, first: number, endExclusive: number, priority: number): Map<number, Promise<Buffer>> {
    const whole = obj.size <= this.#config.wholeObjectMaxBytes
    const from = whole ? 0 : first
    const to = whole ? this.blockCount(obj) : endExclusive
    const objectId = this.#objectId(obj)
    const result = new Map<number, Promise<Buffer>>()
    const missing: Deferred[] = []
    const ticket = new FetchTicket(priority)
    for (let i = from; i < to; i++) {
      const id = `${objectId}.${i}`
      const mem = this.#memory.get(id)
      if (mem !== undefined && this.#disk.ttlActive && this.#disk.expireIfStale(this.#addr(objectId, i))) this.#memory.delete(id)
      else if (mem !== undefined) {
        this.#memoryHits++
        result.set(i, Promise.resolve(mem))
        continue
      }
      const pending = this.#inFlight.get(id)
      if (pending !== undefined) {
        const joined = this.#tickets.get(id)
        if (joined !== undefined) this.#queue.raise(joined, priority)
        result.set(i, pending)
        continue
      }
      const d = deferred(i)
      this.#inFlight.set(id, d.promise)
      this.#tickets.set(id, ticket)
      const settled = () => { this.#inFlight.delete(id); this.#tickets.delete(id) }
      d.promise.then(settled, settled)
      result.set(i, d.promise)
      missing.push(d)
    }
    if (missing.length > 0) {
      this.#load(obj, objectId, missing, ticket, whole).catch((err: unknown) => {
        for (const d of missing) d.reject(err)
      })
    }
    return result
  }

  async #load(obj: ObjectVersion, objectId: string, missing: Deferred[], ticket: FetchTicket, whole: boolean): Promise<void> {
    const fromDisk = await Promise.all(missing.map(d => this.#disk.read(this.#addr(objectId, d.index, obj.key), this.#blockLength(obj, d.index))))
    const toFetch: Deferred[] = []
    missing.forEach((d, n) => {
      const data = fromDisk[n]
      if (data === undefined) return toFetch.push(d)
      this.#diskHits++
      this.#bytesFromDisk += data.length
      this.#memory.set(`${objectId}.${d.index}`, data)
      d.resolve(data)
      return undefined
    })
    const runs = this.#runs(this.#tier === undefined ? toFetch : await this.#fromTier(obj, objectId, toFetch), whole)
    await Promise.all(runs.map(run => this.#fetchRun(obj, objectId, run, ticket).catch((err: unknown) => {
      for (const d of run) {
        this.#tier?.abandon(obj, d.index)
        d.reject(err)
      }
    })))
  }

  /** Groups blocks into consecutive runs that stay inside one part (or the whole small object). */
  #runs(blocks: Deferred[], whole: boolean): Deferred[][] {
    const perPart = Math.max(1, Math.floor(this.#config.partSize / this.#config.blockSize))
    const runs: Deferred[][] = []
    let run: Deferred[] = []
    for (const d of blocks) {
      const prev = run[run.length - 1]
      const contiguous = prev !== undefined && d.index === prev.index + 1
      const samePart = whole || (prev !== undefined && Math.floor(d.index / perPart) === Math.floor(prev.index / perPart))
      if (!contiguous || !samePart) {
        if (run.length > 0) runs.push(run)
        run = []
      }
      run.push(d)
    }
    if (run.length > 0) runs.push(run)
    return runs
  }

  async #fetchRun(obj: ObjectVersion, objectId: string, run: Deferred[], ticket: FetchTicket): Promise<void> {
    const bs = this.#config.blockSize
    const firstIndex = (run[0] as Deferred).index
    const start = firstIndex * bs
    const end = Math.min(obj.size, ((run[run.length - 1] as Deferred).index + 1) * bs)
    // The response is read straight into one buffer per block, each owning exactly its
    // memory: the memory cache keeps alive no more than the bytes it counts.
    const blocks = await this.#queue.run(end - start, ticket.priority, () =>
      this.#client.getPieces({ key: obj.key, start, endExclusive: end, ifMatch: obj.etag, objectSize: obj.size }, bs), ticket)
    const got = blocks.reduce((n, b) => n + b.length, 0)
    if (got !== end - start || blocks.length !== run.length) {
      throw new UnexpectedResponseError(`${obj.key}: expected ${end - start} bytes at ${start}, got ${got}`)
    }
    this.#bytesFromStore += got
    for (const d of run) {
      const block = blocks[d.index - firstIndex] as Buffer
      this.#fetchedBlocks++
      if (ticket.priority >= PRIORITY_FOREGROUND) this.#missBytes.set(block, block.length)
      this.#memory.set(`${objectId}.${d.index}`, block)
      this.#disk.write(this.#addr(objectId, d.index, obj.key), block)
      this.#tier?.offer(obj, d.index, block)
      d.resolve(block)
    }
  }

  /** Resolves the blocks the shared tier has (into memory and disk, as fetched ones); returns the rest. */
  async #fromTier(obj: ObjectVersion, objectId: string, blocks: Deferred[]): Promise<Deferred[]> {
    const found = await Promise.all(blocks.map(d => (this.#tier as SharedTier).lookup(obj, d.index)))
    return blocks.filter((d, n) => {
      const data = found[n]
      if (data === undefined) return true
      const block = copyOf(data)
      this.#memory.set(`${objectId}.${d.index}`, block)
      this.#disk.write(this.#addr(objectId, d.index, obj.key), block)
      d.resolve(block)
      return false
    })
  }

  /** Of `bytes` served from `block`, how many are its first serving after a fetch on demand. */
  #takeMissBytes(block: Buffer, bytes: number): number {
    const left = this.#missBytes.get(block)
    if (left === undefined) return 0
    const take = Math.min(left, bytes)
    if (left > take) this.#missBytes.set(block, left - take)
    else this.#missBytes.delete(block)
    return take
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

  #addr(objectId: string, index: number, key?: string): BlockAddress {
    return key === undefined ? { objectId, index } : { objectId, index, key }
  }

  #blockLength(obj: ObjectVersion, index: number): number {
    return Math.min(this.#config.blockSize, obj.size - index * this.#config.blockSize)
  }
}

function deferred(index: number): Deferred {
  let resolve!: (b: Buffer) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<Buffer>((res, rej) => { resolve = res; reject = rej })
  // Prefetched blocks may fail with nobody waiting: that is not an unhandled rejection.
  promise.catch(() => {})
  return { index, promise, resolve, reject }
}

/** A copy that owns exactly its memory (not from the shared pool): what the memory cache keeps alive is what it counts. */
function copyOf(view: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(view.length)
  view.copy(out)
  return out
}
