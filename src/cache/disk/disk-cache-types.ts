/**
 * The disk cache's vocabulary: its configuration, block addresses, statistics, and
 * `BlockStore` — the small interface the block reader uses (get, put, persist,
 * hear of drops), so the reader never sees files, the index or retention.
 */
import { createHash } from 'node:crypto'
import type { EvictionPolicyName } from '../eviction/eviction-policy.js'

export interface DiskCacheConfig {
  readonly dir: string
  readonly maxBytes: number
  /** Block writes allowed in flight; more are dropped (the data stays readable from S3). */
  readonly maxPendingWrites: number
  /** Which blocks go when the cache is full (default scan-resistant). */
  readonly eviction?: EvictionPolicyName
  /** Cached data older than this is dropped unless a per-path rule says otherwise; default Infinity. */
  readonly defaultTtlMs?: number
  /** How often expired blocks are swept while any TTL applies. */
  readonly ttlSweepIntervalMs?: number
  /** The mount's namespace (bucket, prefix, endpoint), recorded with each object's key. */
  readonly namespace?: string
  /** Free bytes on the cache's filesystem (tests fake a full disk); default statfs of `dir`. */
  readonly spaceProbe?: () => Promise<number>
  /** Milliseconds since the epoch; tests pass a fake clock (default Date.now). */
  readonly clock?: () => number
}

/** One block of one cached object version. */
export interface BlockId {
  readonly objectId: string
  readonly index: number
}

export interface BlockAddress extends BlockId {
  /** The object's key in the mount, when the caller knows it: recorded in the catalog. */
  readonly key?: string
}

export type DropReason = 'freed' | 'expired'

export interface DiskCacheStats {
  readonly usedBytes: number
  readonly maxBytes: number
  readonly blocks: number
  readonly corruptBlocks: number
  readonly writeErrors: number
  readonly droppedWrites: number
  readonly evictedBlocks: number
  readonly indexReady: boolean
  /** Eviction policy in use. */
  readonly policy: EvictionPolicyName
  /** Bytes and blocks of pinned objects on disk (never evicted). */
  readonly pinnedBytes: number
  readonly pinnedBlocks: number
  /** Blocks dropped because they outlived their TTL, and their bytes. */
  readonly ttlDroppedBlocks: number
  readonly ttlDroppedBytes: number
  /** Blocks dropped by `s3cachefs free`, and their bytes. */
  readonly freedBlocks: number
  readonly freedBytes: number
  /** Disk-full episodes since start, and whether one lasts now (the bound is lowered). */
  readonly diskFullEpisodes: number
  readonly diskFull: boolean
}

/** What the block reader needs of the disk cache. */
export interface BlockStore {
  /** The block's data, or undefined on a miss (absent, unreadable, corrupt or expired). */
  read(addr: BlockAddress, expectedLength: number): Promise<Buffer | undefined>
  /** Reads the block into `target[0, expectedLength)`; false on a miss. */
  readInto(addr: BlockAddress, expectedLength: number, target: Buffer): Promise<boolean>
  /** Stores a block in the background; may drop it (the data stays readable from S3). Settles (never rejects) once `data` is no longer used: written, failed or dropped. */
  write(addr: BlockAddress, data: Buffer): Promise<void>
  /** Stores a block, waiting for room to write it; false if it cannot be stored. */
  persist(addr: BlockAddress, data: Buffer): Promise<boolean>
  has(addr: BlockAddress): boolean
  /** On disk, or being written there (a read of it waits for the write instead of fetching it again). */
  holds(addr: BlockAddress): boolean
  /** For a block already on disk: counts it as loaded by an operator; false when absent. */
  markLoaded(addr: BlockAddress): boolean
  /** The prefix of the block files of an object all of whose `blocks` are on disk now, and for how long (ms) they may be served; else undefined. */
  prefixForDirectRead(objectId: string, blocks: number, touch?: boolean): { prefix: string; forMs: number } | undefined
  /** The common prefix of an object's block files (block i is it followed by i), on disk or not. */
  blockFilePrefix(objectId: string): string
  /** Resolves once the writes to disk under way now of blocks 0…blocks-1 of the object have ended (stored or not). */
  writesSettled(objectId: string, blocks: number): Promise<void>
  /** Until when (ms since the epoch) the block may be served: its TTL, from when it was stored, or from now if it is not on disk. */
  deadlineOf(addr: BlockAddress): number
  /** Hears of blocks dropped by `free` or a TTL (not by eviction). */
  onDrop(listener: (objectId: string, index: number) => void): void
}

/** A block's address; `key` (recorded in the catalog) when the caller knows it. */
export function blockAddress(objectId: string, index: number, key?: string): BlockAddress {
  return key === undefined ? { objectId, index } : { objectId, index, key }
}

/** One string per block (`<objectId>.<index>`, as its file is named): the key of in-memory maps of blocks. */
export function blockKey(objectId: string, index: number): string {
  return `${objectId}.${index}`
}

/** Stable id of one version of one object, as cached. */
export function objectIdOf(namespace: string, key: string, etag: string, blockSize: number): string {
  return createHash('sha256').update(`${namespace}\0${key}\0${etag}\0${blockSize}`).digest('hex').slice(0, 40)
}
