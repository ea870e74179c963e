/**
 * The in-memory tier of the block cache: verified blocks by `<objectId>.<index>`,
 * bounded by the bytes they really keep alive (each block owns exactly its memory:
 * fetched blocks are read into buffers of their own, never views of a larger
 * response). A block is kept no longer than the deadline the disk cache's retention
 * gave it when it came in (its TTL); the disk cache tells this tier of blocks freed or
 * expired there, so none lives on in memory.
 */
import { LRUCache } from 'lru-cache'
import type { BlockPool } from './block-pool.js'

/** Room the tier lends beyond its own size: what the read-ahead windows and the blocks kept behind them take now (AheadBudget.lentBytes), and the most they may. */
export interface LentRoom {
  readonly maxBytes: number
  bytes(): number
}

export class MemoryBlocks {
  readonly #lru: LRUCache<string, Buffer>
  readonly #clock: () => number
  readonly #maxBytes: number
  readonly #lent: LentRoom | undefined
  readonly #pool: BlockPool | undefined

  /**
   * `lent`: the tier holds up to `maxBytes` plus what the read-ahead windows hold now (so a
   * window's blocks, fetched ahead and waiting to be read, do not push out one another or
   * the tier's own blocks), never more than `maxBytes + lent.maxBytes`. `pool`: the tier
   * holds each pooled block it keeps (BlockPool.hold) and lets it go when it drops it.
   */
  constructor(maxBytes: number, clock: () => number = Date.now, lent?: LentRoom, pool?: BlockPool) {
    this.#clock = clock
    this.#maxBytes = maxBytes
    this.#lent = lent
    const maxSize = maxBytes + (lent?.maxBytes ?? 0)
    this.#lru = new LRUCache<string, Buffer>({
      maxSize,
      sizeCalculation: b => Math.max(1, b.length),
      perf: { now: clock },
      ttlResolution: 0,
      ...(pool === undefined ? {} : { dispose: (b: Buffer) => pool.drop(b) }),
    })
    this.#pool = pool
  }

  get(id: string): Buffer | undefined {
    return this.#lru.get(id)
  }

  has(id: string): boolean {
    return this.#lru.has(id)
  }

  /** Keeps `block` until `deadlineMs` (ms since the epoch; Infinity: no deadline). */
  set(id: string, block: Buffer, deadlineMs: number): void {
    const ttl = deadlineMs === Infinity ? undefined : Math.floor(deadlineMs - this.#clock())
    if (ttl !== undefined && ttl <= 0) {
      this.#lru.delete(id)
      return this.trim()
    }
    const kept = this.#lru.peek(id, { allowStale: true }) === block
    if (ttl === undefined) this.#lru.set(id, block)
    else this.#lru.set(id, block, { ttl })
    // The tier holds what it keeps (not a block larger than its bound, which it refuses), once; `dispose` lets go.
    if (!kept && this.#lru.peek(id, { allowStale: true }) === block) this.#pool?.hold(block)
    this.trim()
  }

  /** Gives back the room the windows no longer hold: the least recently used blocks go. */
  trim(): void {
    const lent = this.#lent
    if (lent === undefined) return
    const bound = this.#maxBytes + Math.min(lent.maxBytes, lent.bytes())
    while (this.#lru.calculatedSize > bound && this.#lru.size > 0) this.#lru.pop()
  }

  delete(id: string): void {
    this.#lru.delete(id)
  }

  /**
   * Bytes the cache counts, and the bytes it really keeps alive (the distinct
   * allocations behind its blocks): the two agree when no block is a view into more.
   */
  usage(): { countedBytes: number; retainedBytes: number } {
    const buffers = new Set<ArrayBufferLike>()
    let retainedBytes = 0
    for (const b of this.#lru.values()) {
      if (buffers.has(b.buffer)) continue
      buffers.add(b.buffer)
      retainedBytes += b.buffer.byteLength
    }
    return { countedBytes: this.#lru.calculatedSize, retainedBytes }
  }
}
