/**
 * Per-open-file sequential-read detection and prefetch window.
 *
 * Reads arrive from the kernel in pieces of up to 1 MiB (libfuse 3, the mount's read-ahead
 * window; 128 KiB with the kernel's default window), possibly slightly out of order
 * (several FUSE threads). A read that starts near where the previous one ended
 * counts as sequential and grows the window (from `initialWindowBytes`, `growth` times per
 * read, up to `maxWindowBytes`); any other read resets it, so random small reads inside a
 * large shard fetch only the blocks they touch. A run that starts elsewhere than at
 * offset 0 opens a window only once it has read more than `initialWindowBytes`: one random
 * 256 KiB `pread` may reach the daemon as two consecutive 128 KiB pieces, which must not
 * fetch the next block too.
 */

import { BLOCK_SIZE_BYTES, READ_AHEAD_GROWTH } from '../config/defaults.js'

export interface ReadAheadConfig {
  readonly initialWindowBytes: number
  readonly maxWindowBytes: number
  /**
   * Prefetch is asked again once this much of the window is new (or half the window,
   * if smaller): one part, so fetches stay in flight continuously instead of in bursts.
   */
  readonly stepBytes: number
  /** How much the window grows per sequential read once the run has read `stepBytes` (READ_AHEAD_GROWTH if not given; twofold before). */
  readonly growth?: number
}

/** How far from the expected offset a read may land and still count as sequential. */
const SEQUENTIAL_SLACK_BYTES = 1024 * 1024

export interface PrefetchRange {
  readonly start: number
  readonly endExclusive: number
}

/** Blocks a sequential reader keeps in the memory tier besides its window: the one it is reading, and one of lag for the kernel's out-of-order pieces. */
const KEPT_BEHIND_BLOCKS = 2

/**
 * The read-ahead windows of all open files together (READ_AHEAD_BUDGET_BYTES). A prefetched
 * block waits in the memory tier until its reader gets to it, and the tier lends the windows
 * the room they are granted here on top of its own size (MemoryBlocks), so the blocks fetched
 * last never evict the ones about to be read. Each sequential reader is granted an equal
 * share, less the blocks it keeps behind its window (never less than the initial window, so
 * every reader makes progress); a reader gone random keeps only what it fetched ahead and
 * has not read, until it closes or reads sequentially again.
 */
export class AheadBudget {
  readonly #limit: number
  readonly #keptBehind: number
  readonly #onShrink: (() => void) | undefined
  #used = 0
  #active = 0

  /** `onShrink`: told each time the windows give bytes back (the memory tier takes back the room it lent). */
  constructor(limitBytes: number, blockBytes = BLOCK_SIZE_BYTES, onShrink?: () => void) {
    this.#limit = limitBytes
    this.#keptBehind = KEPT_BEHIND_BLOCKS * blockBytes
    this.#onShrink = onShrink
  }

  /** Moves a window from the `held` bytes it was granted towards `wanted` (0: gives it up); returns the bytes granted now. */
  resize(held: number, wanted: number, floor: number): number {
    const active = this.#active + (held === 0 && wanted > 0 ? 1 : 0) - (held > 0 && wanted === 0 ? 1 : 0)
    // Whole initial windows (blocks), so that windows stay block-aligned; less the blocks a
    // reader keeps in the tier behind its window (the one it reads and one of lag).
    const share = Math.floor((this.#limit / Math.max(1, active) - this.#keptBehind) / floor) * floor
    const granted = wanted === 0 ? 0 : Math.max(Math.min(floor, wanted), Math.min(wanted, share, this.#limit - this.#used + held))
    this.#active = active
    this.#used += granted - held
    if (granted < held) this.#onShrink?.()
    return granted
  }

  /** The most the windows may hold together. */
  get limitBytes(): number {
    return this.#limit
  }

  /** Room in the memory tier the readers take beyond its own size: their windows and the blocks each keeps behind its window. */
  lentBytes(): number {
    return Math.min(this.#limit, this.#used + this.#keptBehind * this.#active)
  }

  /** Bytes granted to windows now, and how many readers hold them. */
  usage(): { bytes: number; readers: number } {
    return { bytes: this.#used, readers: this.#active }
  }
}

export class ReadAhead {
  readonly #config: ReadAheadConfig
  readonly #budget: AheadBudget | undefined
  #nextOffset = 0
  /** The window of the sequential run under way (0: none)... */
  #windowBytes = 0
  /**
   * ...and the bytes the budget holds for this reader: the window, or after the reader left
   * its run, what it had fetched ahead and not read, kept until it closes or reads
   * sequentially again, so the memory tier keeps those blocks for a reader that reads one
   * piece elsewhere (a footer, an index) and comes back.
   */
  #grantBytes = 0
  /** Where the reader was when it left its last run (-1: it did not, or picked it up since). */
  #leftAt = -1
  /** Bytes the current sequential run has read; Infinity for a run from offset 0. */
  #runBytes = 0
  /** Prefetch has been requested up to here; avoids asking again for every piece. */
  #requestedUpTo = 0
  /** Whether the last read continued the previous ones. */
  sequential = true

  constructor(config: ReadAheadConfig, budget?: AheadBudget) {
    this.#config = config
    this.#budget = budget
  }

  /** Gives the window back (the file is closed). */
  close(): void {
    this.#grant(0)
    this.#windowBytes = 0
  }

  /** Records a read and returns the byte range to prefetch, if any. */
  onRead(offset: number, length: number, size: number): PrefetchRange | undefined {
    // The kernel's own read-ahead sends several pieces at once, so they arrive in any order
    // within its window: tolerate that much, and more once our window has grown.
    const slack = Math.max(SEQUENTIAL_SLACK_BYTES, this.#windowBytes / 2)
    const sequential = offset === 0 || (offset >= this.#nextOffset - slack && offset <= this.#nextOffset + slack)
    this.sequential = sequential
    const end = offset + length
    const readUpTo = this.#nextOffset
    this.#nextOffset = Math.max(end, sequential ? this.#nextOffset : 0)
    this.#runBytes = offset === 0 ? Infinity : (sequential ? this.#runBytes : 0) + length
    if (!sequential || this.#runBytes <= this.#config.initialWindowBytes) {
      // Leaving a run: keep room for what it fetched ahead and did not read (see #grantBytes).
      if (this.#windowBytes > 0) {
        this.#grant(Math.min(this.#grantBytes, Math.max(0, this.#requestedUpTo - readUpTo)))
        this.#leftAt = readUpTo
      }
      this.#windowBytes = 0
      this.#requestedUpTo = end
      return undefined
    }
    // A run that picks up where the reader left its last one, while room is still kept for it,
    // starts with a window that large: its blocks are there. A run elsewhere starts small.
    const resumed = this.#leftAt >= 0 && Math.abs(end - this.#runBytes - this.#leftAt) <= SEQUENTIAL_SLACK_BYTES
    // Eightfold once the run has read a part's worth (a run from offset 0 at once: a shard's reader), doubling
    // before: a reader of a few MiB at a random offset (a Parquet column chunk, a tar member) opens no 64 MiB window.
    const growth = this.#runBytes >= this.#config.stepBytes ? (this.#config.growth ?? READ_AHEAD_GROWTH) : 2
    const wanted =
      this.#windowBytes > 0
        ? this.#windowBytes * growth
        : resumed
          ? Math.max(this.#config.initialWindowBytes, this.#grantBytes)
          : this.#config.initialWindowBytes
    this.#leftAt = -1
    this.#windowBytes = this.#grant(Math.min(this.#config.maxWindowBytes, wanted))
    // Once the window holds a step (a part), it ends on a step boundary: each request is whole parts, one GET each.
    const step = this.#config.stepBytes
    const ahead = end + this.#windowBytes
    const target = Math.min(size, this.#windowBytes >= step ? Math.floor(ahead / step) * step : ahead)
    const start = Math.max(end, this.#requestedUpTo)
    // Ask again once a step is new, so 128 KiB pieces do not each re-ask, yet the pipe never drains.
    if (target - start < Math.min(this.#windowBytes / 2, this.#config.stepBytes) && target < size) return undefined
    if (start >= target) return undefined
    this.#requestedUpTo = target
    return { start, endExclusive: target }
  }

  /** Whether a read-ahead window is open: the reader reads sequentially, and its blocks are fetched ahead of it. */
  get windowOpen(): boolean {
    return this.#windowBytes > 0
  }

  /** Asks the budget to hold `wanted` bytes for this reader; returns what it holds now. */
  #grant(wanted: number): number {
    this.#grantBytes = this.#budget?.resize(this.#grantBytes, wanted, this.#config.initialWindowBytes) ?? wanted
    return this.#grantBytes
  }
}
