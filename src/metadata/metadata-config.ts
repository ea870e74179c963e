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
}
