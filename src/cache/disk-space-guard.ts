/**
 * What the disk cache does when its disk is fuller than `--cache-size` assumed
 * (ENOSPC or EDQUOT from a block write): one *episode* per disk-full period.
 *
 * - The first failed write starts an episode: the bound is set from `statfs`
 *   (bytes cached now + bytes still free − a headroom of 64 MiB, or a tenth of
 *   the configured size if less), never below zero and
 *   never above the configured size, and the cache evicts down to it. Logged once.
 * - Further failures in the episode (writes that were already in flight) do not
 *   shrink the bound again: the bound is a function of what statfs says, not of
 *   how many writes failed. A failure at least RECHECK_MS after the last probe
 *   probes again (another process may still be filling the disk).
 * - While the episode lasts, statfs is probed every RECHECK_MS; the bound follows
 *   the free space back up and the episode ends (logged) once the configured size
 *   fits again.
 * DiskBlockCache owns one; it reads `usedBytes` from the index and applies the bound.
 */
import { statfs } from 'node:fs/promises'
import type { Logger } from 'pino'
import { DISK_FULL_HEADROOM_BYTES, DISK_FULL_RECHECK_MS } from '../config/defaults.js'

/** Bytes a non-root user may still write on the cache's filesystem. */
export type SpaceProbe = () => Promise<number>

export interface DiskSpaceGuardOptions {
  readonly configuredMaxBytes: number
  readonly usedBytes: () => number
  /** Applies a new bound (and evicts down to it). */
  readonly setMaxBytes: (bytes: number) => void
  readonly probe: SpaceProbe
  readonly log: Logger
  readonly now?: () => number
  readonly headroomBytes?: number
  readonly recheckMs?: number
  /** Periodic re-probes while an episode lasts; off in unit tests that call recheck() themselves. */
  readonly timers?: boolean
}

export function statfsProbe(dir: string): SpaceProbe {
  return async () => {
    const s = await statfs(dir)
    return s.bavail * s.bsize
  }
}

export class DiskSpaceGuard {
  readonly #o: DiskSpaceGuardOptions
  readonly #now: () => number
  #inEpisode = false
  #episodes = 0
  #lastProbeMs = -Infinity
  #probing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(options: DiskSpaceGuardOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  /** A block write failed for lack of space. Never throws; the returned promise is for tests. */
  noSpace(): Promise<void> {
    if (!this.#inEpisode) {
      this.#inEpisode = true
      this.#episodes++
      this.#o.log.warn({ usedBytes: this.#o.usedBytes() }, 'cache disk full; lowering the cache bound to what fits until space returns')
      if (this.#o.timers !== false) {
        this.#timer = setInterval(() => {
          this.recheck().catch(() => {})
        }, this.#recheckMs).unref()
      }
      return this.recheck()
    }
    if (this.#now() - this.#lastProbeMs >= this.#recheckMs) return this.recheck()
    return this.#probing ?? Promise.resolve()
  }

  /** Probes free space and sets the bound from it; ends the episode once the configured size fits. */
  recheck(): Promise<void> {
    if (!this.#inEpisode) return Promise.resolve()
    this.#probing ??= this.#probe().finally(() => {
      this.#probing = undefined
    })
    return this.#probing
  }

  get inEpisode(): boolean {
    return this.#inEpisode
  }

  /** Disk-full episodes since start. */
  get episodes(): number {
    return this.#episodes
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  async #probe(): Promise<void> {
    this.#lastProbeMs = this.#now()
    let available: number
    try {
      available = await this.#o.probe()
    } catch (err) {
      // No statfs: keep 90 % of what is cached, once per probe (not per failed write).
      this.#o.log.warn({ err }, 'statfs of the cache directory failed')
      this.#o.setMaxBytes(Math.floor(Math.min(this.#o.configuredMaxBytes, this.#o.usedBytes()) * 0.9))
      return
    }
    // A tenth of a small cache at most: a 64 MiB headroom would empty a cache of that size.
    const headroom = this.#o.headroomBytes ?? Math.min(DISK_FULL_HEADROOM_BYTES, this.#o.configuredMaxBytes / 10)
    const fits = this.#o.usedBytes() + available - headroom
    if (fits >= this.#o.configuredMaxBytes) {
      this.#o.setMaxBytes(this.#o.configuredMaxBytes)
      this.#inEpisode = false
      this.stop()
      this.#o.log.warn({ maxBytes: this.#o.configuredMaxBytes }, 'cache disk has room again; cache bound restored')
      return
    }
    this.#o.setMaxBytes(Math.max(0, Math.floor(fits)))
  }

  get #recheckMs(): number {
    return this.#o.recheckMs ?? DISK_FULL_RECHECK_MS
  }
}
