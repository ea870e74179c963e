/**
 * Per-open-file sequential-read detection and prefetch window.
 *
 * Reads arrive from the kernel in ≤128 KiB pieces, possibly slightly out of order
 * (several FUSE threads). A read that starts near where the previous one ended
 * counts as sequential and doubles the window (from `initialWindowBytes` up to
 * `maxWindowBytes`); any other read resets it, so random small reads inside a
 * large shard fetch only the blocks they touch.
 */

export interface ReadAheadConfig {
  readonly initialWindowBytes: number
  readonly maxWindowBytes: number
  /**
   * Prefetch is asked again once this much of the window is new (or half the window,
   * if smaller): one part, so fetches stay in flight continuously instead of in bursts.
   */
  readonly stepBytes: number
}

/** How far from the expected offset a read may land and still count as sequential. */
const SEQUENTIAL_SLACK_BYTES = 1024 * 1024

export interface PrefetchRange {
  readonly start: number
  readonly endExclusive: number
}

export class ReadAhead {
  readonly #config: ReadAheadConfig
  #nextOffset = 0
  #windowBytes = 0
  /** Prefetch has been requested up to here; avoids asking again for every piece. */
  #requestedUpTo = 0
  /** Whether the last read continued the previous ones. */
  sequential = true

  constructor(config: ReadAheadConfig) {
    this.#config = config
  }

  /** Records a read and returns the byte range to prefetch, if any. */
  onRead(offset: number, length: number, size: number): PrefetchRange | undefined {
    // The kernel's own read-ahead sends several pieces at once, so they arrive in any order
    // within its window: tolerate that much, and more once our window has grown.
    const slack = Math.max(SEQUENTIAL_SLACK_BYTES, this.#windowBytes / 2)
    const sequential = offset === 0 || (offset >= this.#nextOffset - slack && offset <= this.#nextOffset + slack)
    this.sequential = sequential
    const end = offset + length
    this.#nextOffset = Math.max(end, sequential ? this.#nextOffset : 0)
    if (!sequential) {
      this.#windowBytes = 0
      this.#requestedUpTo = end
      return undefined
    }
    this.#windowBytes = this.#windowBytes === 0 ? this.#config.initialWindowBytes : Math.min(this.#config.maxWindowBytes, this.#windowBytes * 2)
    const target = Math.min(size, end + this.#windowBytes)
    const start = Math.max(end, this.#requestedUpTo)
    // Ask again once a step is new, so 128 KiB pieces do not each re-ask, yet the pipe never drains.
    if (target - start < Math.min(this.#windowBytes / 2, this.#config.stepBytes) && target < size) return undefined
    if (start >= target) return undefined
    this.#requestedUpTo = target
    return { start, endExclusive: target }
  }
}
