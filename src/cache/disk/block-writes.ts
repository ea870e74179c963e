/**
 * Writing blocks into the disk cache: at most `maxPendingWrites` at once (a p-queue);
 * a background write beyond that, or one that cannot fit beside pinned data, is
 * dropped (the data stays readable from S3), while an operator's `load` waits for a
 * slot. A block being written is known by its address, so a load or a read waits
 * for that write instead of writing or fetching it twice. The catalog line of a new
 * object is written before its first block; a stored block joins the index, and the
 * owner (DiskBlockCache) evicts and compacts from `onStored`.
 */
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import { blockFileBytes } from '../block-file-format.js'
import type { BlockIndex } from '../block-index.js'
import type { CacheRules } from '../cache-rules.js'
import type { BlockFiles } from './block-files.js'
import type { CatalogKeeper } from './catalog-keeper.js'
import { type BlockAddress, blockKey } from './disk-cache-types.js'

export interface BlockWritesDeps {
  readonly files: BlockFiles
  readonly index: BlockIndex
  readonly rules: CacheRules
  readonly catalog: CatalogKeeper
  /** The mount's namespace id, as used in rules. */
  readonly ns: string
  readonly maxPendingWrites: number
  readonly clock: () => number
  readonly log: Logger
  /** A block joined the index. */
  readonly onStored: () => void
  /** The disk is full (ENOSPC or EDQUOT). */
  readonly onNoSpace: () => void
}

export class BlockWrites {
  readonly #d: BlockWritesDeps
  readonly #queue: PQueue
  readonly #writing = new Map<string, Promise<void>>()
  #pendingBytes = 0
  #errors = 0
  #dropped = 0

  constructor(deps: BlockWritesDeps) {
    this.#d = deps
    this.#queue = new PQueue({ concurrency: deps.maxPendingWrites })
  }

  /** Stores a block in the background, or drops it when writes are at their bound; never fails the caller, and settles once `data` is no longer used. */
  write(addr: BlockAddress, data: Buffer): Promise<void> {
    if (this.#queue.size + this.#queue.pending >= this.#d.maxPendingWrites || !this.#fits(addr, data.length)) {
      this.#dropped++
      return Promise.resolve()
    }
    return this.#start(addr, data, false).catch(() => {})
  }

  /**
   * Makes sure a block an operator loads is on disk: waits for its write if one is
   * running, otherwise writes it, waiting for a write slot rather than dropping it.
   * The policy keeps it as a preloaded block. Resolves false if it cannot be stored.
   */
  async persist(addr: BlockAddress, data: Buffer): Promise<boolean> {
    await this.inProgress(addr)?.catch(() => {})
    const existing = this.#d.index.get(addr.objectId, addr.index)
    if (existing !== undefined) {
      this.#d.index.touch(existing, true)
      return true
    }
    if (!this.#fits(addr, data.length)) return false
    return this.#start(addr, data, true).then(
      () => this.#d.index.get(addr.objectId, addr.index) !== undefined,
      () => false,
    )
  }

  /** The write of this block under way, if any. */
  inProgress(addr: BlockAddress): Promise<void> | undefined {
    return this.#writing.get(blockKey(addr.objectId, addr.index))
  }

  /** Bytes of block writes not finished yet. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  onIdle(): Promise<void> {
    return this.#queue.onIdle()
  }

  stats(): { writeErrors: number; droppedWrites: number } {
    return { writeErrors: this.#errors, droppedWrites: this.#dropped }
  }

  /** Whether a new block may be stored: pinned data alone must never exceed the bound. */
  #fits(addr: BlockAddress, dataBytes: number): boolean {
    const bytes = blockFileBytes(dataBytes)
    const index = this.#d.index
    if (bytes > index.maxBytes) return false
    const pinned = addr.key !== undefined && this.#d.rules.isPinned(this.#d.ns, addr.key)
    return !pinned || index.pinnedBytes + bytes <= index.maxBytes
  }

  #start(addr: BlockAddress, data: Buffer, preload: boolean): Promise<void> {
    const key = blockKey(addr.objectId, addr.index)
    const bytes = blockFileBytes(data.length)
    this.#pendingBytes += bytes
    const p = this.#queue
      .add(() => this.#store(addr, data, preload))
      .catch((err: unknown) => {
        this.#onError(err)
        this.#d.catalog.settle(addr.objectId)
        throw err
      })
      .finally(() => {
        this.#pendingBytes -= bytes
        if (this.#writing.get(key) === p) this.#writing.delete(key)
      })
    this.#writing.set(key, p)
    return p
  }

  async #store(addr: BlockAddress, data: Buffer, preload: boolean): Promise<void> {
    const cataloged = this.#d.catalog.entryFor(addr)
    // Catalog first: a block on disk whose key is unknown could not be pinned or freed by path.
    await cataloged?.written.catch((err: unknown) => this.#d.log.warn({ err }, 'cache catalog write failed'))
    await this.#d.files.write(addr, data)
    this.#d.index.add(addr.objectId, addr.index, blockFileBytes(data.length), this.#d.clock(), preload, cataloged?.entry)
    this.#d.catalog.settle(addr.objectId)
    this.#d.onStored()
  }

  #onError(err: unknown): void {
    this.#errors++
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // The disk is fuller than --cache-size assumed: the bound follows statfs for the episode.
      this.#d.onNoSpace()
      return
    }
    if (this.#errors <= 10) this.#d.log.warn({ err }, 'cache block write failed')
  }
}
