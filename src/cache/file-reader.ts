/**
 * The reader of one open file (one object version): owns its sequential read-ahead
 * and its random-access detection, and asks the shared BlockReader for bytes.
 * FilesystemCore only delegates to it (the shape of Mountpoint's per-handle
 * prefetcher and JuiceFS's per-handle reader).
 *
 * Random access: after `randomReadsBeforeWholeFetch` reads that are not sequential
 * (a lone read near the end — a Parquet footer, a tar index — never counts enough),
 * an object larger than one part that fits the cache comfortably is fetched whole in
 * the background, in parallel part-sized GETs below foreground priority: the
 * reader's own ranges go first and join the background fetch where it got first,
 * and every later read is a local hit.
 */
import type { BlockReader, ObjectVersion } from './block-reader.js'
import { ReadAhead, type ReadAheadConfig } from './read-ahead.js'

export interface FileReaderConfig {
  readonly readAhead: ReadAheadConfig
  /** Non-sequential reads of one handle before the whole object is fetched in the background. */
  readonly randomReadsBeforeWholeFetch: number
  /** Largest object fetched whole on random access (a share of the cache, so one file cannot flush it). */
  readonly wholeFetchMaxBytes: number
}

export class FileReader {
  readonly #blocks: BlockReader
  readonly #config: FileReaderConfig
  readonly version: ObjectVersion
  readonly #readAhead: ReadAhead
  #randomReads = 0
  #wholeFetchAsked = false
  /** Blocks below this one that this reader read through sequentially were dropped from the memory tier. */
  #keptFrom = 0

  constructor(blocks: BlockReader, version: ObjectVersion, config: FileReaderConfig) {
    this.#blocks = blocks
    this.version = version
    this.#config = config
    // An object fetched whole at its first read has nothing to read ahead: its window takes no
    // share of the budget, so the memory tier lends no room for it (a loader's thousands of
    // small files would otherwise each hold an initial window while open).
    this.#readAhead = new ReadAhead(config.readAhead, version.size > blocks.wholeObjectMaxBytes ? blocks.aheadBudget : undefined)
  }

  /** The file is closed: its read-ahead window goes back to the budget. */
  close(): void {
    this.#readAhead.close()
  }

  /** Reads into `target`; resolves with the bytes read (fewer at the end of the object). */
  async readInto(offset: number, length: number, target: Buffer): Promise<number> {
    const size = this.version.size
    const ahead = this.#readAhead.onRead(offset, length, size)
    if (!this.#readAhead.sequential) this.#noteRandom()
    // A reader with no window open reads at random: it may overtake a background whole fetch.
    // The window ahead is asked for as soon as this read's own blocks are (they go first), not once they are here.
    const n = await this.#blocks.readInto(this.version, offset, length, target, !this.#readAhead.windowOpen, ahead)
    this.#dropReadThrough(offset)
    return n
  }

  /**
   * A sequential reader does not come back to the blocks it read through (the page cache
   * and the disk cache keep them): they leave the memory tier, which then holds the
   * windows read ahead instead. One block of lag, for the kernel's pieces that arrive out
   * of order.
   */
  #dropReadThrough(offset: number): void {
    const at = Math.floor(offset / this.#blocks.blockSize)
    if (!this.#readAhead.sequential) {
      this.#keptFrom = at
      return
    }
    if (at - 1 <= this.#keptFrom) return
    this.#blocks.dropFromMemory(this.version, this.#keptFrom, at - 1)
    this.#keptFrom = at - 1
  }

  #noteRandom(): void {
    if (this.#wholeFetchAsked || ++this.#randomReads < this.#config.randomReadsBeforeWholeFetch) return
    const size = this.version.size
    if (size <= this.#blocks.wholeObjectMaxBytes || size > this.#config.wholeFetchMaxBytes) return
    this.#wholeFetchAsked = true
    this.#blocks.fetchWholeInBackground(this.version)
  }
}
