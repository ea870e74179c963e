/**
 * Two listing manifests in front of one another: the local file beside the block cache
 * first (persistent-listing-manifest.ts), then the one shared through the coordinator
 * (src/coord/shared-listing-manifest.ts). A listing found only in the shared one is
 * copied into the local one, so the next mount of this node needs neither; puts and
 * removals go to both.
 */
import type { ListingManifest, SharedListing } from './listing-manifest.js'

export class TieredListingManifest implements ListingManifest {
  readonly #near: ListingManifest
  readonly #far: ListingManifest
  readonly #ttlMs: number

  /** `ttlMs`: the metadata TTL, the lifetime of a listing copied from `far` (counted from its LIST). */
  constructor(near: ListingManifest, far: ListingManifest, ttlMs: number) {
    this.#near = near
    this.#far = far
    this.#ttlMs = ttlMs
  }

  async get(path: string): Promise<SharedListing | undefined> {
    const near = await this.#near.get(path)
    if (near !== undefined) return near
    const far = await this.#far.get(path)
    if (far !== undefined) this.#near.put(path, far, this.#ttlMs)
    return far
  }

  put(path: string, listing: SharedListing, ttlMs: number): void {
    this.#near.put(path, listing, ttlMs)
    this.#far.put(path, listing, ttlMs)
  }

  forget(paths: readonly string[]): void {
    this.#near.forget(paths)
    this.#far.forget(paths)
  }
}
