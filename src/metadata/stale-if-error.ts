/**
 * Stale-if-error: when the store is unreachable or failing, what the mount learned
 * before (metadata past its TTL, and through it the cached blocks of the version
 * last seen) is served for a bounded time instead of EIO.
 *
 * Which failures qualify: the store did not answer usefully — network errors,
 * timeouts, 5xx and throttling after the client's retries. Answers that are
 * answers (403, 404, 412) never do: they say something true about the bucket.
 * An *episode* runs from the first stale answer to the next successful request;
 * it is logged once at each end, and stale answers are counted for `stats`.
 * Within STALE_RETRY_INTERVAL_MS of the last failure, known paths are answered
 * stale at once (`holding`), without paying the client's retries again per
 * lookup (an `ls -l` of 1,000 names would otherwise take minutes); after it, the
 * store is tried again and answers end the episode.
 * MetadataStore asks `applies(err)` on a failed refresh and reports successes.
 */
import type { Logger } from 'pino'
import { STALE_RETRY_INTERVAL_MS } from '../config/defaults.js'
import { NetworkError, RemoteServerError, RequestTimeoutError, ThrottledError } from '../errors.js'

export interface StaleIfErrorStats {
  /** Lookups and listings answered from expired metadata because the store failed. */
  readonly staleAnswers: number
  /** Store outages during which stale answers were given. */
  readonly episodes: number
  /** Whether such an outage lasts now. */
  readonly active: boolean
}

function isStoreFailure(err: unknown): boolean {
  return err instanceof NetworkError || err instanceof RequestTimeoutError || err instanceof RemoteServerError || err instanceof ThrottledError
}

export class StaleIfError {
  /** How long past its TTL an entry may still be served; 0 turns stale answers off. */
  readonly windowMs: number
  readonly #log: Logger
  readonly #clock: () => number
  #lastFailureMs = -Infinity
  #answers = 0
  #episodes = 0
  #active = false

  constructor(windowMs: number, log: Logger, clock: () => number) {
    this.windowMs = windowMs
    this.#log = log
    this.#clock = clock
  }

  /** Whether the store failed so recently that known paths are answered stale without asking it. */
  holding(): boolean {
    return this.#active && this.#clock() - this.#lastFailureMs < STALE_RETRY_INTERVAL_MS
  }

  /** Whether a failed refresh may be answered from expired metadata. */
  applies(err: unknown): boolean {
    return this.windowMs > 0 && isStoreFailure(err)
  }

  /** A stale answer was given, in place of `err` (or while holding). */
  served(path: string, err?: unknown): void {
    this.#answers++
    if (err !== undefined) this.#lastFailureMs = this.#clock()
    if (this.#active) return
    this.#active = true
    this.#episodes++
    this.#log.warn({ err, path, staleForMs: this.windowMs }, 'the store is failing; serving cached metadata and data past their TTL')
  }

  /** A request to the store succeeded: an episode in course is over. */
  recovered(): void {
    if (!this.#active) return
    this.#active = false
    this.#log.warn({ staleAnswers: this.#answers }, 'the store answers again; stale answers stopped')
  }

  stats(): StaleIfErrorStats {
    return { staleAnswers: this.#answers, episodes: this.#episodes, active: this.#active }
  }
}
