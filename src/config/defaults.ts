/**
 * Every default number of s3cachefs, with its unit and the reason for its value.
 */
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** Default bound of the disk cache: large enough for an ImageNet-scale working set on NVMe. */
export const DEFAULT_CACHE_SIZE = '20GiB'
/** The cache disk must have at least this much free space to mount at all. */
export const MIN_CACHE_FREE_BYTES = 64 * MiB

/** Unit of caching. 1 MiB keeps whole small files (~110 KB JPEGs) in one block and large files in few files. */
export const BLOCK_SIZE_BYTES = 1 * MiB
/** Largest ranged GET: S3 serves ~85–90 MB/s per connection, and 8 MiB parts amortise TTFB. */
export const PART_SIZE_BYTES = 8 * MiB
/** Objects up to one part are fetched whole, in one GET, on first read. */
export const WHOLE_OBJECT_MAX_BYTES = PART_SIZE_BYTES
/** Verified blocks kept in memory, so 128 KiB kernel reads do not re-read and re-check a block each time. */
export const MEMORY_CACHE_BYTES = 256 * MiB
/** Memory that in-flight GET responses may hold at once, however many files are open. */
export const IN_FLIGHT_BUDGET_BYTES = 256 * MiB
/** Concurrent S3 requests: throughput on S3 comes from many parallel GETs. */
export const MAX_CONCURRENCY = 64
/** Waiting fetches above which prefetch is dropped rather than queued. */
export const MAX_QUEUED_PREFETCH = 256
/** Block writes to disk in flight; more are dropped (the block is refetched if needed). */
export const MAX_PENDING_BLOCK_WRITES = 256

/** Sequential read-ahead starts at one block and doubles per sequential read... */
export const READ_AHEAD_INITIAL_BYTES = 1 * MiB
/** ...up to eight parts in flight per reader. */
export const READ_AHEAD_MAX_BYTES = 64 * MiB

/** How long metadata (stat, listings) is trusted before asking the store again. */
export const METADATA_TTL = '60s'
/** How long "no such file" is trusted: short, since new objects should appear soon. */
export const NEGATIVE_TTL = '5s'
/** Cached path entries (~150 bytes each): ~150 MB for a million files. */
export const MAX_METADATA_ENTRIES = 1_000_000
/** Children held by cached directory listings in total. */
export const MAX_LISTED_CHILDREN = 2_000_000
/** The kernel caches attributes at most this long, so an out-of-band change is seen within it. */
export const MAX_KERNEL_TTL_SECONDS = 3600

/** Attempts per S3 request including the first (SDK standard retry: backoff, throttling aware). */
export const S3_MAX_ATTEMPTS = 4
/** An unreachable endpoint fails a connection attempt this fast. */
export const S3_CONNECT_TIMEOUT_MS = 3000
/** Overall deadline of one S3 call, retries included: well under the FUSE op timeout. */
export const S3_REQUEST_DEADLINE_MS = 20_000
/** fuse-native answers ETIMEDOUT itself after this; it must exceed queueing plus the S3 deadline. */
export const FUSE_OP_TIMEOUT_MS = 60_000

/** libuv threads for disk I/O: the daemon serves many concurrent readers from the disk cache. */
export const UV_THREADPOOL_SIZE = 16

export const FILE_MODE = 0o644
export const DIR_MODE = 0o755

export const DEFAULT_LOG_LEVEL = 'warn'
/** How long `mount` waits for the daemon to be ready before giving up. */
export const MOUNT_READY_TIMEOUT_MS = 60_000
/** How long `unmount` waits for the daemon to exit after SIGTERM. */
export const UNMOUNT_WAIT_MS = 30_000

export { GiB, KiB, MiB }
