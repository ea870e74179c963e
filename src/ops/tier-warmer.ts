/**
 * `s3cachefs load PATH --shared [--shard I/N]`: warms the shared tier rather than this
 * node's disk cache, so the nodes of a job can fill it together before training.
 *
 * For each file, a part (8 MiB) at a time: the blocks the tier lacks (one HEAD each)
 * are fetched from the origin with one ranged GET through the same FetchQueue as
 * reads (at PRIORITY_LOAD, If-Match the listed ETag) and written to the tier, awaited
 * (a load is not dropped under pressure as background offers are). Files go to node
 * I of N by a hash of their key (`inShard`), so N nodes each load a disjoint share.
 */
import { createHash } from 'node:crypto'
import type { ObjectVersion } from '../cache/block-reader.js'
import { type FetchQueue, PRIORITY_LOAD } from '../cache/fetch-queue.js'
import type { SharedTier } from '../cache/shared-tier.js'
import { UnexpectedResponseError } from '../errors.js'
import type { ObjectClient } from '../s3/object-client.js'

export interface Shard {
  /** 0-based: node `index` of `count`. */
  readonly index: number
  readonly count: number
}

/** True when `key` belongs to `shard` (a stable hash partition, the same on every node). */
export function inShard(key: string, shard: Shard): boolean {
  if (shard.count <= 1) return true
  return createHash('sha256').update(key).digest().readUInt32BE(0) % shard.count === shard.index
}

export class TierWarmer {
  readonly #tier: SharedTier
  readonly #client: ObjectClient
  readonly #queue: FetchQueue
  readonly #blockSize: number
  readonly #partSize: number

  /** Larger files are not shared (--shared-cache-max-object-size); a load skips them. */
  readonly maxObjectBytes: number

  constructor(tier: SharedTier, client: ObjectClient, queue: FetchQueue, blockSize: number, partSize: number, maxObjectBytes: number) {
    this.maxObjectBytes = maxObjectBytes
    this.#tier = tier
    this.#client = client
    this.#queue = queue
    this.#blockSize = blockSize
    this.#partSize = partSize
  }

  /** Puts every block of `obj` the tier lacks into it; `onBytes` hears of each block present or written. Throws if a write fails. */
  async warm(obj: ObjectVersion, onBytes: (bytes: number) => void): Promise<void> {
    if (!this.#tier.eligible(obj)) throw new UnexpectedResponseError(`${obj.key}: larger than --shared-cache-max-object-size; not shared`)
    const perPart = Math.max(1, Math.floor(this.#partSize / this.#blockSize))
    const count = Math.ceil(obj.size / this.#blockSize)
    for (let first = 0; first < count; first += perPart) {
      const indices = Array.from({ length: Math.min(perPart, count - first) }, (_, n) => first + n)
      const present = await Promise.all(indices.map(i => this.#tier.has(obj, i)))
      const missing = indices.filter((_, n) => !present[n])
      for (const i of indices) if (!missing.includes(i)) onBytes(this.#length(obj, i))
      if (missing.length === 0) continue
      const start = (missing[0] as number) * this.#blockSize
      const end = Math.min(obj.size, ((missing[missing.length - 1] as number) + 1) * this.#blockSize)
      const data = await this.#queue.run(end - start, PRIORITY_LOAD, () => this.#client.getRange({ key: obj.key, start, endExclusive: end, ifMatch: obj.etag }))
      if (data.length !== end - start) throw new UnexpectedResponseError(`${obj.key}: expected ${end - start} bytes at ${start}, got ${data.length}`)
      await Promise.all(
        missing.map(async i => {
          const off = i * this.#blockSize - start
          if (!(await this.#tier.store(obj, i, data.subarray(off, off + this.#length(obj, i))))) {
            throw new UnexpectedResponseError(`${obj.key}: the shared tier refused block ${i}`)
          }
          onBytes(this.#length(obj, i))
        }),
      )
    }
  }

  #length(obj: ObjectVersion, index: number): number {
    return Math.min(this.#blockSize, obj.size - index * this.#blockSize)
  }
}
