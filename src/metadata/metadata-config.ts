/** The metadata layer's sub-config (built by src/config/resolve-config.ts). */
export interface MetadataConfig {
  /** How long a positive entry or listing is trusted; Infinity trusts forever. */
  readonly ttlMs: number
  /** How long "no such path" is trusted. */
  readonly negativeTtlMs: number
  /** Bound on cached path entries (positive and negative). */
  readonly maxEntries: number
  /** Bound on the total number of children held by cached listings. */
  readonly maxListedChildren: number
  /** How long past its TTL metadata may be served while the store fails (--stale-if-error); 0 or absent: never. */
  readonly staleIfErrorMs?: number
  /**
   * Read a file's or directory's s3fs headers with one HEAD on its first `stat` when no
   * listing or write told them (`--posix-metadata head`); off, they default until known.
   */
  readonly headForAttributes?: boolean
  /** A read-only mount: the metadata layer writes nothing either (old directory objects are shown, not replaced). */
  readonly readOnly?: boolean
}

/** A directory with up to this many children is listed again to answer a lookup in it (≤ 5 pages). */
export const RELIST_MAX_CHILDREN = 5000
/** A lookup lists a directory never listed if it takes at most this many LIST pages (10,000 entries). */
export const PATH_FIRST_MAX_PAGES = 10
/** Larger listings are not shared (one value per directory; ~100 B per child). */
export const MANIFEST_MAX_CHILDREN = 100_000
