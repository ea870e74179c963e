/**
 * The shared tier's configuration, what it needs of a coordinator (block leases), and
 * the figures it reports (shared-tier.ts).
 */

export interface SharedTierConfig {
  /** The source bucket and the mount's prefix in it: tier objects name full keys. */
  readonly sourceBucket: string
  readonly sourcePrefix: string
  readonly blockSize: number
  /** Objects larger than this are neither read from nor written to the tier. */
  readonly maxObjectBytes: number
  /** Deadline of one tier request; past it the request counts as an error (a miss). */
  readonly timeoutMs: number
  /** Tier reads in flight at once. */
  readonly readConcurrency: number
  /** Tier writes in flight at once, and writes waiting beyond which offers are dropped. */
  readonly writeConcurrency: number
  readonly maxQueuedWrites: number
  /** How long a node may hold a block lease (fetch from the origin and write the tier). */
  readonly leaseMs: number
  /** How often a waiter looks at a lease it waits for. */
  readonly leasePollMs: number
}

/** What the tier needs of a coordinator (src/coord/redis-coordinator.ts). Never throws. */
export interface BlockLeases {
  /** 'claimed': fetch it yourself; 'fetching'/'done': another node has it; 'alone': no coordinator now. */
  claim(name: string, ttlMs: number): Promise<'claimed' | 'fetching' | 'done' | 'alone'>
  state(name: string): Promise<'fetching' | 'done' | 'none'>
  markDone(name: string, ttlMs: number): Promise<void>
  drop(name: string): Promise<void>
}

export interface SharedTierStats {
  readonly hits: number
  readonly misses: number
  /** Tier requests that failed or timed out (each also a miss or a write not made). */
  readonly errors: number
  /** Objects found but not matching (foreign, corrupt, another version): misses, counted apart. */
  readonly mismatches: number
  readonly bytesRead: number
  readonly writes: number
  readonly bytesWritten: number
  /** Offers dropped because the write queue was full. */
  readonly writesDropped: number
  readonly writesQueued: number
  /** Misses that waited for another node's fetch, and how many of those then hit. */
  readonly leaseWaits: number
  readonly leaseWaitHits: number
}

/** Lease names live under this prefix in the coordinator, beside the tier key. */
