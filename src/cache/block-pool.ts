/**
 * Buffers of fetched blocks, reused once nothing holds them. A cold read moves every byte
 * through a new 1 MiB buffer; each new buffer is memory V8 counts against its external
 * limit and the kernel faults in page by page, so a cold GiB set off ~95 young and ~17 full
 * collections of the JS heap ("external memory pressure", `--trace-gc`) and a million page
 * faults (docs/ARCHITECTURE.md, session 22). Reused, the same few MiB carry the whole read.
 *
 * A buffer from `take` is returned to the pool only when it can be proved unused:
 * - every holder counts itself (`hold` … `drop`): the GET filling it until it is
 *   delivered, the memory tier while it keeps it, a disk write until it ends, a reader
 *   from the moment its wait for the block ends until it has copied the bytes out;
 * - a buffer handed to code that keeps it (or views of it) without counting — a read
 *   returned to a caller, a shared-tier write — is `escape`d: never reused, left to the
 *   collector like any other buffer;
 * - a buffer whose holds reach zero is reused only after the current turn of the event
 *   loop (`setImmediate`), so a reader whose wait for it has just ended (a promise
 *   settled in this turn) counts itself first;
 * - a buffer whose GET failed, or that was never delivered, keeps its first hold: the
 *   collector takes it.
 * Only buffers of exactly one block come from the pool (the last, shorter block of an
 * object and everything else is allocated as before); buffers this pool did not make are
 * ignored by every call.
 */
import { forgetChunkChecksums } from '../util/chunk-checksums.js'

interface Holds {
  count: number
  escaped: boolean
}

export interface BlockPoolStats {
  /** Buffers made new (one block each)... */
  readonly allocated: number
  /** ...and taken again after their last holder let them go. */
  readonly reused: number
  /** Handed to code that keeps them without counting: never reused. */
  readonly escaped: number
  /** Bytes waiting in the pool now. */
  readonly freeBytes: number
}

export class BlockPool {
  readonly #blockSize: number
  readonly #maxFree: number
  readonly #free: Buffer[] = []
  readonly #holds = new WeakMap<Buffer, Holds>()
  /** Let go of in this turn: reusable from the next. */
  #letGo: Buffer[] = []
  #flushing = false
  #allocated = 0
  #reused = 0
  #escaped = 0
  /** Where new buffers of one block come from: a page-aligned allocation once the FUSE binding offers one (its block files are then written past the page cache). */
  allocator: (bytes: number) => Buffer = Buffer.allocUnsafeSlow

  /** `maxFreeBytes`: the most the pool keeps unused (more are left to the collector). */
  constructor(blockSize: number, maxFreeBytes: number) {
    this.#blockSize = blockSize
    this.#maxFree = Math.floor(maxFreeBytes / blockSize)
  }

  /** A buffer of `bytes`, held once by the caller (the GET that fills it). */
  take(bytes: number): Buffer {
    if (bytes !== this.#blockSize) return Buffer.allocUnsafeSlow(bytes)
    let b = this.#free.pop()
    if (b === undefined) {
      b = this.allocator(bytes)
      this.#allocated++
    } else {
      this.#reused++
    }
    this.#holds.set(b, { count: 1, escaped: false })
    return b
  }

  hold(b: Buffer): void {
    const h = this.#holds.get(b)
    if (h !== undefined) h.count++
  }

  drop(b: Buffer): void {
    const h = this.#holds.get(b)
    if (h === undefined || h.count <= 0) return
    if (--h.count > 0 || h.escaped) return
    this.#letGo.push(b)
    if (!this.#flushing) {
      this.#flushing = true
      setImmediate(() => this.#flush())
    }
  }

  /** `b` is kept by code that does not count its holds: it is never reused. */
  escape(b: Buffer): void {
    const h = this.#holds.get(b)
    if (h === undefined || h.escaped) return
    h.escaped = true
    this.#escaped++
  }

  stats(): BlockPoolStats {
    return { allocated: this.#allocated, reused: this.#reused, escaped: this.#escaped, freeBytes: this.#free.length * this.#blockSize }
  }

  #flush(): void {
    this.#flushing = false
    const letGo = this.#letGo
    this.#letGo = []
    for (const b of letGo) {
      const h = this.#holds.get(b)
      // Held again, or escaped, since: not free after all.
      if (h === undefined || h.count > 0 || h.escaped) continue
      this.#holds.delete(b)
      if (this.#free.length >= this.#maxFree) continue
      forgetChunkChecksums(b)
      this.#free.push(b)
    }
  }
}
