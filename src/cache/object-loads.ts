/**
 * Whole-object work on top of the BlockReader's single-flight blocks: `load`
 * (preload), the background whole fetch of a randomly read object, cross-file
 * prefetch of whole files, and adopting the bytes of a file just uploaded through the
 * mount. Everything goes through the reader's in-flight map and the FetchQueue, so a
 * reader and any of these never fetch a block twice.
 */
import type { Logger } from 'pino'
import { LOAD_WINDOW_PARTS, WHOLE_FETCH_PARTS } from '../config/defaults.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { type BlockStore, blockAddress } from './disk/disk-cache-types.js'
import { PRIORITY_LOAD } from './fetch-queue.js'
import { blockCount, blockLength, type ObjectVersion } from './object-version.js'

/** What ObjectLoads needs of the BlockReader. */
export interface BlockSource {
  /** A promise per block in [first, endExclusive) of `obj` (more for a small object fetched whole), loading those nobody loads yet. */
  blocks(obj: ObjectVersion, first: number, endExclusive: number, priority: number): Map<number, Promise<Buffer>>
  objectId(obj: ObjectVersion): string
}

export interface ObjectLoadsConfig {
  readonly blockSize: number
  readonly partSize: number
  readonly wholeObjectMaxBytes: number
}

export class ObjectLoads {
  readonly #config: ObjectLoadsConfig
  readonly #source: BlockSource
  readonly #disk: BlockStore
  readonly #log: Logger
  /** Objects being fetched whole in the background (random access), by object id. */
  readonly #wholeFetches = new Set<string>()

  constructor(config: ObjectLoadsConfig, source: BlockSource, disk: BlockStore, log: Logger) {
    this.#config = config
    this.#source = source
    this.#disk = disk
    this.#log = log
  }

  /** Caches a version just uploaded through the mount, read back from its staging file, so reading it costs no GET. */
  async adopt(obj: ObjectVersion, readAt: (position: number, length: number) => Promise<Buffer>): Promise<void> {
    const objectId = this.#source.objectId(obj)
    const bs = this.#config.blockSize
    for (let i = 0; i < blockCount(obj, bs); i++) {
      const data = await readAt(i * bs, blockLength(obj, i, bs))
      if (data.length !== blockLength(obj, i, bs)) return
      void this.#disk.write(blockAddress(objectId, i, obj.key), data)
    }
  }

  /**
   * Puts every block of `obj` in the disk cache, for `s3cachefs load`, at PRIORITY_LOAD
   * (never dropped as prefetch is). A large object goes part by part with `windowParts`
   * parts in flight, the next starting as soon as one is stored (a sliding window, so the
   * link never drains between windows), and memory stays bounded. Resolves with the bytes
   * now on disk (fewer than the size only if the disk refused blocks); `onBytes` hears of
   * each block as it is stored.
   */
  async preload(obj: ObjectVersion, onBytes: (bytes: number) => void = () => {}, windowParts = LOAD_WINDOW_PARTS): Promise<number> {
    const objectId = this.#source.objectId(obj)
    const bs = this.#config.blockSize
    const count = blockCount(obj, bs)
    const perPart = obj.size <= this.#config.wholeObjectMaxBytes ? count : Math.max(1, Math.floor(this.#config.partSize / bs))
    const partStarts = Array.from({ length: Math.ceil(count / perPart) }, (_, n) => n * perPart)
    let cached = 0
    await forEachLimit(partStarts, windowParts, async start => {
      const missing: number[] = []
      for (let i = start; i < Math.min(count, start + perPart); i++) {
        if (!this.#disk.markLoaded(blockAddress(objectId, i, obj.key))) {
          missing.push(i)
          continue
        }
        cached += blockLength(obj, i, bs)
        onBytes(blockLength(obj, i, bs))
      }
      if (missing.length === 0) return
      const stored = await this.#persist(obj, objectId, missing, PRIORITY_LOAD, onBytes)
      cached += stored // not `cached += await …`, which would add to the value read before the wait
    })
    if (cached === obj.size) this.onLoaded(obj)
    return cached
  }

  /** Told of each object `preload` (a load, a background whole fetch) left entirely on disk (whole-object copies for passthrough). */
  onLoaded: (obj: ObjectVersion) => void = () => {}

  /** Fetches every block of `obj` in the background, `WHOLE_FETCH_PARTS` parts in flight, below foreground reads. Once per version. */
  fetchWholeInBackground(obj: ObjectVersion): void {
    const objectId = this.#source.objectId(obj)
    if (this.#wholeFetches.has(objectId)) return
    this.#wholeFetches.add(objectId)
    const t0 = performance.now()
    this.preload(obj, () => {}, WHOLE_FETCH_PARTS)
      .then(
        bytes => this.#log.info({ key: obj.key, bytes, ms: Math.round(performance.now() - t0) }, 'fetched a randomly read object whole'),
        (err: unknown) => this.#log.warn({ err, key: obj.key }, 'background fetch of a randomly read object failed'),
      )
      .finally(() => this.#wholeFetches.delete(objectId))
  }

  /** Brings the blocks of `obj` not on disk into the disk cache at `priority` (cross-file prefetch); resolves with the bytes fetched. */
  async prefetchWhole(obj: ObjectVersion, priority: number): Promise<number> {
    const objectId = this.#source.objectId(obj)
    const missing: number[] = []
    for (let i = 0; i < blockCount(obj, this.#config.blockSize); i++) if (!this.#disk.has(blockAddress(objectId, i))) missing.push(i)
    return missing.length === 0 ? 0 : this.#persist(obj, objectId, missing, priority, () => {})
  }

  /** Loads the `missing` blocks (ascending) and waits until each is on disk; resolves with the bytes stored. */
  async #persist(obj: ObjectVersion, objectId: string, missing: number[], priority: number, onBytes: (bytes: number) => void): Promise<number> {
    const blocks = this.#source.blocks(obj, missing[0] as number, (missing[missing.length - 1] as number) + 1, priority)
    let bytes = 0
    await Promise.all(
      missing.map(async i => {
        const data = await (blocks.get(i) as Promise<Buffer>)
        if (await this.#disk.persist(blockAddress(objectId, i, obj.key), data)) bytes += data.length
        onBytes(data.length)
      }),
    )
    return bytes
  }
}
