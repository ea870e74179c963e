/**
 * The shared second cache tier (`--shared-cache s3://BUCKET[/PREFIX]`): blocks other
 * nodes fetched from the origin, kept as objects in an S3-compatible bucket of their own.
 *
 * BlockReader asks `lookup` for a block its disk cache misses, before the origin; a
 * hit goes to its memory and disk caches like an origin fetch. Blocks fetched from the
 * origin are handed to `offer`, which writes them to the tier in the background: a
 * bounded queue, dropped when full, never awaited by a reader.
 *
 * Failure is a miss: every tier request has a deadline (`timeoutMs`), and an error, a
 * timeout, a missing object or one whose header or checksum does not match
 * (shared-block-format.ts) answers `undefined`; the reader then goes to the origin.
 * The daemon never lists or deletes the tier: eviction is the bucket's lifecycle rule.
 *
 * With a coordinator (Redis, `--coordinator`), a miss also takes a lease on the block:
 * the node that gets it fetches from the origin and marks the lease done once its tier
 * write landed; the others wait (polling the lease, bounded by its expiry) and then
 * read the tier. A lease whose holder failed is dropped; one that expires, or a tier
 * that still misses, sends the waiter to the origin. A coordinator that fails answers
 * "alone": every node then works on its own.
 */
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import type { ObjectClient } from '../s3/object-client.js'
import type { ObjectVersion } from './block-reader.js'
import type { BlockLeases, SharedTierConfig, SharedTierStats } from './shared-tier-types.js'
import {
  SharedBlockMismatch,
  decodeSharedBlock,
  encodeSharedBlock,
  sharedBlockKey,
  sharedNamespace,
  sharedObjectMaxBytes,
  type SharedBlockIdentity,
} from './shared-block-format.js'

export type { BlockLeases, SharedTierConfig, SharedTierStats } from './shared-tier-types.js'

const LEASE_PREFIX = 'lease:'
/** A lease marked done stays this many lease lengths, so late arrivers read the tier at once. */
const DONE_LEASE_FACTOR = 12

export class SharedTier {
  readonly #config: SharedTierConfig
  readonly #client: ObjectClient
  readonly #leases: BlockLeases | undefined
  readonly #log: Logger
  readonly #namespace: string
  readonly #reads: PQueue
  readonly #writes: PQueue
  /** Tier keys this node holds a lease on (it must mark them done or drop them). */
  readonly #held = new Set<string>()
  #hits = 0
  #misses = 0
  #errors = 0
  #mismatches = 0
  #bytesRead = 0
  #writesDone = 0
  #bytesWritten = 0
  #writesDropped = 0
  #leaseWaits = 0
  #leaseWaitHits = 0

  constructor(config: SharedTierConfig, client: ObjectClient, leases: BlockLeases | undefined, log: Logger) {
    this.#config = config
    this.#client = client
    this.#leases = leases
    this.#log = log
    this.#namespace = sharedNamespace(config.sourceBucket, config.blockSize)
    this.#reads = new PQueue({ concurrency: config.readConcurrency })
    this.#writes = new PQueue({ concurrency: config.writeConcurrency })
  }

  /** At mount: one warning line if the tier cannot be reached; the mount goes on either way. */
  async probe(): Promise<boolean> {
    try {
      await this.#bounded(this.#client.checkBucket())
      return true
    } catch (err) {
      this.#log.warn({ err }, 'the shared cache tier is unreachable; reading from the origin until it answers')
      return false
    }
  }

  /** True when `obj` is small enough to go through the tier. */
  eligible(obj: ObjectVersion): boolean {
    return obj.size <= this.#config.maxObjectBytes
  }

  /** The block's data from the tier, or undefined (a miss, whatever went wrong). Never throws. */
  async lookup(obj: ObjectVersion, index: number): Promise<Buffer | undefined> {
    if (!this.eligible(obj)) return undefined
    const key = this.keyOf(obj, index)
    const found = await this.#get(key, obj, index)
    if (found !== undefined || this.#leases === undefined) return found
    const lease = await this.#leases.claim(LEASE_PREFIX + key, this.#config.leaseMs)
    if (lease === 'claimed') {
      this.#hold(key)
      return undefined
    }
    if (lease === 'alone') return undefined
    this.#leaseWaits++
    if (lease === 'fetching' && !(await this.#waitForLease(key))) return undefined
    const after = await this.#get(key, obj, index)
    if (after !== undefined) this.#leaseWaitHits++
    return after
  }

  /** A block fetched from the origin: written to the tier in the background, or dropped under pressure. */
  offer(obj: ObjectVersion, index: number, data: Buffer): void {
    if (!this.eligible(obj)) return
    const key = this.keyOf(obj, index)
    // A leased block others wait for is written even when the queue is long (the lease bounds them anyway).
    if (!this.#held.has(key) && this.#writes.size >= this.#config.maxQueuedWrites) {
      this.#writesDropped++
      return
    }
    // Encoding (a CRC and a copy) waits for the next turn of the event loop: readers of the block go first.
    this.#writes
      .add(
        async () => {
          await new Promise(resolve => setImmediate(resolve))
          return this.store(obj, index, data)
        },
        { priority: this.#held.has(key) ? 1 : 0 },
      )
      .catch(() => {})
  }

  /** The origin fetch of a block failed: a lease this node holds on it is dropped, so waiters fetch at once. */
  abandon(obj: ObjectVersion, index: number): void {
    const key = this.keyOf(obj, index)
    if (this.#held.delete(key)) this.#leases?.drop(LEASE_PREFIX + key).catch(() => {})
  }

  /** Writes one block to the tier now; true once it landed. Never throws. */
  async store(obj: ObjectVersion, index: number, data: Buffer): Promise<boolean> {
    const key = this.keyOf(obj, index)
    const body = encodeSharedBlock(this.#identity(obj, index), data)
    try {
      await this.#bounded(this.#client.upload({ key, body, size: body.length }))
      this.#writesDone++
      this.#bytesWritten += data.length
      if (this.#held.delete(key)) await this.#leases?.markDone(LEASE_PREFIX + key, this.#config.leaseMs * DONE_LEASE_FACTOR)
      return true
    } catch (err) {
      this.#errors++
      this.#log.debug({ err, key: obj.key, index }, 'shared tier write failed')
      if (this.#held.delete(key)) await this.#leases?.drop(LEASE_PREFIX + key)
      return false
    }
  }

  /**
   * True when the tier holds an object under this block's key (one HEAD), for `load --shared`,
   * which skips what is there. Not verified: a corrupt object is rewritten by the next read
   * that misses on it (the origin fetch is offered again).
   */
  async has(obj: ObjectVersion, index: number): Promise<boolean> {
    try {
      await this.#bounded(this.#client.head(this.keyOf(obj, index)))
      return true
    } catch {
      return false
    }
  }

  /** The block's key in the tier, relative to the tier's prefix. */
  keyOf(obj: ObjectVersion, index: number): string {
    return sharedBlockKey(this.#namespace, this.#config.sourcePrefix + obj.key, obj.etag, index)
  }

  /** Waits for writes already queued (shutdown, tests). */
  async drain(): Promise<void> {
    await this.#writes.onIdle()
  }

  stats(): SharedTierStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      errors: this.#errors,
      mismatches: this.#mismatches,
      bytesRead: this.#bytesRead,
      writes: this.#writesDone,
      bytesWritten: this.#bytesWritten,
      writesDropped: this.#writesDropped,
      writesQueued: this.#writes.size + this.#writes.pending,
      leaseWaits: this.#leaseWaits,
      leaseWaitHits: this.#leaseWaitHits,
    }
  }

  async #get(key: string, obj: ObjectVersion, index: number): Promise<Buffer | undefined> {
    const want = this.#identity(obj, index)
    let object: Buffer
    try {
      object = await this.#reads.add(() => this.#bounded(this.#client.getRange({ key, start: 0, endExclusive: sharedObjectMaxBytes(want.length) })))
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') this.#misses++
      else {
        this.#errors++
        this.#misses++
        this.#log.debug({ err, key: obj.key, index }, 'shared tier read failed (a miss)')
      }
      return undefined
    }
    try {
      const data = decodeSharedBlock(object, want)
      this.#hits++
      this.#bytesRead += data.length
      return data
    } catch (err) {
      if (!(err instanceof SharedBlockMismatch)) throw err
      this.#mismatches++
      this.#misses++
      this.#log.warn({ key: obj.key, index, tierKey: key, reason: err.message }, 'shared tier object does not match the block; ignored')
      return undefined
    }
  }

  /** Polls another node's lease until it is done (true) or gone or past its expiry (false). */
  async #waitForLease(key: string): Promise<boolean> {
    const leases = this.#leases as BlockLeases
    const deadline = Date.now() + this.#config.leaseMs
    while (Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, this.#config.leasePollMs))
      const state = await leases.state(LEASE_PREFIX + key)
      if (state === 'done') return true
      if (state === 'none') return false
    }
    return false
  }

  /** Remembers a lease this node holds; forgets it when it would have expired anyway. */
  #hold(key: string): void {
    this.#held.add(key)
    setTimeout(() => this.#held.delete(key), this.#config.leaseMs).unref()
  }

  #identity(obj: ObjectVersion, index: number): SharedBlockIdentity {
    const offset = index * this.#config.blockSize
    return {
      bucket: this.#config.sourceBucket,
      key: this.#config.sourcePrefix + obj.key,
      etag: obj.etag,
      index,
      offset,
      length: Math.min(this.#config.blockSize, obj.size - offset),
    }
  }

  /** The promise, or a rejection once `timeoutMs` has passed (the late answer is ignored). */
  #bounded<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`shared tier: no answer within ${this.#config.timeoutMs} ms`)), this.#config.timeoutMs)
      p.then(
        v => {
          clearTimeout(timer)
          resolve(v)
        },
        (e: unknown) => {
          clearTimeout(timer)
          reject(e)
        },
      )
    })
  }
}
