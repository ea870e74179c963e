/**
 * The contract of a listing manifest: complete directory listings kept outside
 * MetadataStore's memory (on local disk beside the block cache, in Redis for many
 * nodes, or both; see persistent-listing-manifest.ts, tiered-listing-manifest.ts and
 * src/coord/shared-listing-manifest.ts). MetadataStore reads one before LIST pages and
 * writes every complete listing to it.
 */
import type { Entry } from './entry.js'

/** Listings kept for later mounts or other nodes. Never throws. */
export interface ListingManifest {
  /** The listing of `path` stored before, or undefined. */
  get(path: string): Promise<SharedListing | undefined>
  /** Stores a complete listing for `ttlMs` (in the background). */
  put(path: string, listing: SharedListing, ttlMs: number): void
  /** Removes the listings of these directories (in the background). */
  forget(paths: readonly string[]): void
}

export interface SharedListing {
  readonly children: ReadonlyArray<readonly [string, Entry]>
  /** Wall-clock time of the LIST, so every node trusts it for what is left of the TTL only. */
  readonly listedAtMs: number
}
