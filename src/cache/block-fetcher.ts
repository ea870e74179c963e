/**
 * Loads blocks nobody is loading yet, for the BlockReader's single-flight map: from
 * the disk cache first, then the shared tier when there is one (other nodes' fetches),
 * then ranged S3 GETs — consecutive missing blocks in one GET that stays inside one
 * part (or the whole small object), through the bounded FetchQueue at the priority of
 * the ticket, with If-Match on the ETag the reader opened (a changed object fails as
 * PreconditionFailedError, never mixes versions). Every block loaded goes into the
 * memory tier, and fetched ones into the disk cache and the tier, in the background.
 */
import { UnexpectedResponseError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'
import type { BlockPool } from './block-pool.js'
import { type BlockStore, blockAddress, blockKey } from './disk/disk-cache-types.js'
import { type FetchQueue, type FetchTicket, PRIORITY_FOREGROUND } from './fetch-queue.js'
import type { MemoryBlocks } from './memory-blocks.js'
import { blockLength, type ObjectVersion } from './object-version.js'
import type { SharedTier } from './shared-tier.js'

/** A block being loaded: its index and the promise every reader of it waits on. */
export interface PendingBlock {
  readonly index: number
  readonly promise: Promise<Buffer>
  resolve(b: Buffer): void
  reject(e: unknown): void
  /** Set once the block's GET is queued: that GET's progress, and the block's place in its run. */
  stream?: RunProgress
  slot?: number
}

/** How far one GET of a run of blocks got: how many of its blocks it delivered. */
export interface RunProgress {
  delivered: number
}

/** Blocks of its run that a GET still has to deliver before `p` (0: `p` is next); undefined while no GET for `p` is queued. */
export function blocksAhead(p: PendingBlock): number | undefined {
  if (p.stream === undefined || p.slot === undefined) return undefined
  return p.slot - p.stream.delivered
}

export interface BlockFetcherDeps {
  readonly blockSize: number
  readonly partSize: number
  readonly client: ObjectClient
  readonly disk: BlockStore
  readonly queue: FetchQueue
  readonly memory: MemoryBlocks
  readonly tier: SharedTier | undefined
  /** Where fetched blocks' buffers come from, and go back to once nothing holds them. */
  readonly pool: BlockPool
}

export class BlockFetcher {
  readonly #d: BlockFetcherDeps
  /**
   * Blocks fetched on a reader's demand (at foreground priority, or raised to it by a reader
   * that joined), with the bytes of each not yet served: those count as fetched for readers,
   * everything else served (read before, loaded, prefetched in time) as served from the cache.
   */
  readonly #missBytes = new WeakMap<Buffer, number>()
  diskHits = 0
  fetchedBlocks = 0
  bytesFromDisk = 0
  bytesFromStore = 0

  readonly #allocPiece: (bytes: number) => Buffer

  constructor(deps: BlockFetcherDeps) {
    this.#d = deps
    this.#allocPiece = bytes => deps.pool.take(bytes)
  }

  /** Loads `missing` blocks of `obj`; rejects each block's promise that fails. */
  async load(obj: ObjectVersion, objectId: string, missing: PendingBlock[], ticket: FetchTicket, whole: boolean): Promise<void> {
    const bs = this.#d.blockSize
    const fromDisk = await Promise.all(missing.map(p => this.#d.disk.read(blockAddress(objectId, p.index, obj.key), blockLength(obj, p.index, bs))))
    const toFetch: PendingBlock[] = []
    missing.forEach((p, n) => {
      const data = fromDisk[n]
      if (data === undefined) return toFetch.push(p)
      this.diskHits++
      this.bytesFromDisk += data.length
      this.#remember(obj, objectId, p.index, data)
      p.resolve(data)
      return undefined
    })
    const rest = this.#d.tier === undefined ? toFetch : await this.#fromTier(obj, objectId, toFetch)
    await Promise.all(this.#runs(rest, whole).map(run => this.#fetchRun(obj, objectId, run, ticket)))
  }

  /** Of `bytes` served from `block`, how many are its first serving after a fetch on demand. */
  takeMissBytes(block: Buffer, bytes: number): number {
    const left = this.#missBytes.get(block)
    if (left === undefined) return 0
    const take = Math.min(left, bytes)
    if (left > take) this.#missBytes.set(block, left - take)
    else this.#missBytes.delete(block)
    return take
  }

  /** Groups blocks into consecutive runs that stay inside one part (or the whole small object). */
  #runs(blocks: PendingBlock[], whole: boolean): PendingBlock[][] {
    const perPart = Math.max(1, Math.floor(this.#d.partSize / this.#d.blockSize))
    const runs: PendingBlock[][] = []
    let run: PendingBlock[] = []
    for (const p of blocks) {
      const prev = run[run.length - 1]
      const contiguous = prev !== undefined && p.index === prev.index + 1
      const samePart = whole || (prev !== undefined && Math.floor(p.index / perPart) === Math.floor(prev.index / perPart))
      if (!contiguous || !samePart) {
        if (run.length > 0) runs.push(run)
        run = []
      }
      run.push(p)
    }
    if (run.length > 0) runs.push(run)
    return runs
  }

  /**
   * One GET for a run of blocks. Each block is resolved as soon as its bytes are in (a
   * ranged GET tells of its pieces as they complete), so a reader of the first block of
   * a part, or of a block inside a background fetch, does not wait for the rest; on a
   * failure only the blocks not yet resolved are rejected.
   */
  async #fetchRun(obj: ObjectVersion, objectId: string, run: PendingBlock[], ticket: FetchTicket): Promise<void> {
    const bs = this.#d.blockSize
    const firstIndex = (run[0] as PendingBlock).index
    const start = firstIndex * bs
    const end = Math.min(obj.size, ((run[run.length - 1] as PendingBlock).index + 1) * bs)
    let resolved = 0
    const progress: RunProgress = { delivered: 0 }
    run.forEach((p, n) => {
      p.stream = progress
      p.slot = n
    })
    const deliver = (n: number, block: Buffer): void => {
      const p = run[n]
      if (p === undefined || n !== resolved || block.length !== blockLength(obj, p.index, bs)) return
      resolved++
      progress.delivered = resolved
      this.bytesFromStore += block.length
      this.fetchedBlocks++
      // A pooled buffer may have carried another block before: its count starts again.
      if (ticket.priority >= PRIORITY_FOREGROUND) this.#missBytes.set(block, block.length)
      else this.#missBytes.delete(block)
      this.#stored(obj, objectId, p.index, block)
      if (this.#d.tier !== undefined) {
        this.#d.pool.escape(block) // the tier's writes keep it without counting
        this.#d.tier.offer(obj, p.index, block)
      }
      p.resolve(block)
      // The GET's own hold ends here: the tier, the disk write and the readers hold it now.
      this.#d.pool.drop(block)
    }
    try {
      // The response is read straight into one buffer per block, each owning exactly its
      // memory: the memory tier keeps alive no more than the bytes it counts.
      const blocks = await this.#d.queue.run(
        end - start,
        ticket.priority,
        () =>
          this.#d.client.getPieces(
            { key: obj.key, start, endExclusive: end, ifMatch: obj.etag, objectSize: obj.size, onPiece: deliver, allocPiece: this.#allocPiece },
            bs,
          ),
        ticket,
      )
      const got = blocks.reduce((n, b) => n + b.length, 0)
      if (got !== end - start || blocks.length !== run.length) {
        throw new UnexpectedResponseError(`${obj.key}: expected ${end - start} bytes at ${start}, got ${got}`)
      }
      for (let n = resolved; n < run.length; n++) deliver(n, blocks[n] as Buffer)
      if (resolved < run.length) throw new UnexpectedResponseError(`${obj.key}: block ${(run[resolved] as PendingBlock).index} came back the wrong size`)
    } catch (err) {
      for (const p of run.slice(resolved)) {
        this.#d.tier?.abandon(obj, p.index)
        p.reject(err)
      }
    }
  }

  /** Resolves the blocks the shared tier has (into memory and disk, as fetched ones); returns the rest. */
  async #fromTier(obj: ObjectVersion, objectId: string, blocks: PendingBlock[]): Promise<PendingBlock[]> {
    const found = await Promise.all(blocks.map(p => (this.#d.tier as SharedTier).lookup(obj, p.index)))
    return blocks.filter((p, n) => {
      const data = found[n]
      if (data === undefined) return true
      const block = copyOf(data)
      this.#stored(obj, objectId, p.index, block)
      p.resolve(block)
      return false
    })
  }

  /** A block new to this node: into the disk cache (in the background, held until written) and the memory tier. */
  #stored(obj: ObjectVersion, objectId: string, index: number, block: Buffer): void {
    const pool = this.#d.pool
    pool.hold(block)
    void this.#d.disk.write(blockAddress(objectId, index, obj.key), block).finally(() => pool.drop(block))
    this.#remember(obj, objectId, index, block)
  }

  #remember(obj: ObjectVersion, objectId: string, index: number, block: Buffer): void {
    this.#d.memory.set(blockKey(objectId, index), block, this.#d.disk.deadlineOf(blockAddress(objectId, index, obj.key)))
  }
}

/** A copy that owns exactly its memory (not from the shared pool): what the memory tier keeps alive is what it counts. */
function copyOf(view: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(view.length)
  view.copy(out)
  return out
}
