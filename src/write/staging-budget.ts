/**
 * The bound on written data staged on local disk (`--staging-size`), apart from the
 * block cache's `--cache-size`: bytes of every staging data file (the content being
 * written, committed generations waiting for upload, copies made by copy-on-write),
 * counted by DataFile as files are made, grown, truncated and closed.
 *
 * A write that would take staging past the bound waits for room — uploads finishing
 * and their files retired free it — for at most `waitMs`, and fails at once when no
 * upload is running or queued (no room can come). Concurrent writers may each pass
 * the check with one write in flight: the bound is exceeded by at most those writes. Failing is
 * CacheFullError (ENOSPC), with the write path's ENOSPC semantics: the writer is told,
 * closed generations are kept and uploaded, the bucket is never given partial data.
 * Only writes wait here: commits, close, flush and uploads never do, so draining can
 * never wait on a writer (no deadlock).
 */
import { CacheFullError } from '../errors.js'

export interface StagingLimits {
  /** Bytes of staged data files at most. */
  readonly maxBytes: number
  /** How long a write waits for uploads to make room before ENOSPC. */
  readonly waitMs: number
}

export interface StagingBudgetStats {
  readonly stagedBytes: number
  readonly maxBytes: number
  /** Writes that had to wait for room, and those refused (ENOSPC) after waiting. */
  readonly waits: number
  readonly refusals: number
}

export class StagingBudget {
  readonly #limits: StagingLimits
  #used = 0
  #waits = 0
  #refusals = 0
  #wake: Array<() => void> = []
  /** Uploads running or queued: what may still free room. */
  #uploads = 0

  constructor(limits: StagingLimits = { maxBytes: Number.POSITIVE_INFINITY, waitMs: 0 }) {
    this.#limits = limits
  }

  /** A staging data file grew (positive) or shrank or went away (negative) by `deltaBytes`. */
  add(deltaBytes: number): void {
    this.#used += deltaBytes
    if (deltaBytes < 0) for (const wake of this.#wake.splice(0)) wake()
  }

  /**
   * Resolves once `growthBytes` more fit under the bound; waits while uploads run that
   * may free room, at most `waitMs`; otherwise CacheFullError.
   */
  async admit(growthBytes: number, what: string): Promise<void> {
    if (this.#fits(growthBytes)) return
    this.#waits++
    const deadline = Date.now() + this.#limits.waitMs
    while (!this.#fits(growthBytes)) {
      const left = deadline - Date.now()
      if (left <= 0 || this.#uploads === 0) {
        this.#refusals++
        throw new CacheFullError(`${what}: staged data would exceed --staging-size (${this.#limits.maxBytes} bytes) and uploads did not make room`)
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.#wake.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** An upload of staged data started (+1) or ended (-1); an end wakes waiters to look again. */
  uploading(delta: 1 | -1): void {
    this.#uploads += delta
    if (delta < 0) for (const wake of this.#wake.splice(0)) wake()
  }

  stats(): StagingBudgetStats {
    return { stagedBytes: this.#used, maxBytes: this.#limits.maxBytes, waits: this.#waits, refusals: this.#refusals }
  }

  #fits(growthBytes: number): boolean {
    return growthBytes <= 0 || this.#used + growthBytes <= this.#limits.maxBytes
  }
}
