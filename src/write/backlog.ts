/**
 * Backpressure for async writes: bounds the files and bytes that closes may leave
 * waiting for upload. A close that would exceed a bound waits for room (FUSE flush
 * has no timeout), so a writer faster than the store slows to the store's pace
 * instead of filling the disk. One file larger than the byte bound is admitted
 * alone rather than never.
 */
export interface BacklogConfig {
  readonly maxFiles: number
  readonly maxBytes: number
}

export class Backlog {
  readonly #config: BacklogConfig
  #files = 0
  #bytes = 0
  #waiters: Array<() => void> = []

  constructor(config: BacklogConfig) {
    this.#config = config
  }

  get files(): number {
    return this.#files
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Waits for room for one file of `bytes`; resolves with its release (idempotent). */
  async admit(bytes: number): Promise<() => void> {
    while (this.#files >= this.#config.maxFiles || (this.#files > 0 && this.#bytes + bytes > this.#config.maxBytes)) {
      await new Promise<void>(resolve => this.#waiters.push(resolve))
    }
    this.#files++
    this.#bytes += bytes
    let released = false
    return () => {
      if (released) return
      released = true
      this.#files--
      this.#bytes -= bytes
      for (const wake of this.#waiters.splice(0)) wake()
    }
  }
}
