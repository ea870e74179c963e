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
/**
 * Verified blocks kept in memory, so 128 KiB kernel reads of a block just fetched do not
 * re-read and re-check it each time (fully cached files are read by the binding's direct
 * reads, off the disk cache). 64 MiB, down from 128 once V8's old generation started at
 * 128 MiB (DAEMON_V8_FLAGS) let garbage blocks live longer: with 128 MiB, node A of the
 * benchmark's two-node shared-tier scenarios peaked at 508–529 MiB; with 64 MiB at
 * 448–460 MiB, at the same speed (2026-12-02, nodes workload run twice back to back), and a
 * cold sequential read cost the same (1.56 vs 1.48 CPU-s per 256 MiB, within the noise).
 * With the in-flight budget and the read-ahead windows' lent room (below; block memory at
 * most 64 + 128 + 160 MiB in theory, the windows' in-flight parts counted in both of the
 * last two, and BLOCK_POOL_FREE_BYTES of buffers waiting for reuse), it kept the daemon's peak RSS under 512 MiB in every benchmark workload
 * (session 21: 458 MiB, node A of the shared-tier scenario; the 1 GiB shard's runs 271–336).
 */
export const MEMORY_CACHE_SIZE = '64MiB'
/**
 * `--passthrough`: objects smaller than this get no whole-object copy. The kernel's passthrough
 * reads large files at local-disk speed where the FUSE round trip per read is the limit (random
 * reads in a shard, ARCHITECTURE.md "Session 19"); an epoch of small files gains nothing from it
 * (its cost is the lookups and opens every FUSE filesystem answers), and their copies would only
 * double their disk use.
 */
export const PASSTHROUGH_MIN_OBJECT_BYTES = 4 * MiB
/**
 * Memory that in-flight GET responses may hold at once, however many files are open: 16 parts
 * of 8 MiB (one sequential reader's whole read-ahead window) and the reserve below.
 */
export const IN_FLIGHT_BUDGET_BYTES = 160 * MiB
/** Of the in-flight budget, what only fetches a reader waits on may take: a read never waits for read-ahead or a load to make room. */
export const FOREGROUND_RESERVE_BYTES = 32 * MiB
/** Concurrent S3 requests: throughput on S3 comes from many parallel GETs. */
export const MAX_CONCURRENCY = 64
/** Waiting fetches above which prefetch is dropped rather than queued. */
export const MAX_QUEUED_PREFETCH = 256
/** On a full cache disk the bound leaves this much free for other users of the disk (and the staging area). */
export const DISK_FULL_HEADROOM_BYTES = 64 * MiB
/** While the cache disk is full, free space is probed (statfs) this often, so the bound comes back when space does. */
export const DISK_FULL_RECHECK_MS = 5000
/** Block writes to disk in flight; more are dropped (the block is refetched if needed). */
export const MAX_PENDING_BLOCK_WRITES = 256

/** Sequential read-ahead starts at one block... */
export const READ_AHEAD_INITIAL_BYTES = 1 * MiB
/**
 * ...grows eightfold per sequential read in a run from offset 0 or one that has read a part
 * (1, 8, 64, 128 MiB: the whole window by a run's fourth read; doubling took seven reads, each
 * waiting for its block's first byte, ~270 ms of a cold read with the cores half idle; gcsfuse
 * grows fivefold), twofold in a run that starts elsewhere until it has read a part...
 */
export const READ_AHEAD_GROWTH = 8
/** ...up to sixteen parts in flight per reader... */
export const READ_AHEAD_MAX_BYTES = 128 * MiB
/**
 * ...and the windows of all readers together hold at most this much, less two blocks per
 * reader kept behind its window. A window's blocks wait in the memory tier until read, so
 * the tier lends the windows the room they hold now on top of `--memory-cache-size`
 * (MemoryBlocks): a sequential reader's blocks do not evict the ones about to be read, and
 * with no window open the tier holds no more than its own size.
 *
 * Windows were a share of the 64 MiB tier before (about seven 8 MiB parts in flight). On
 * this 2-core machine the store, the link and the daemon share the cores, every GET takes
 * longer than the link alone would, and the bytes in flight set the rate: a cold sequential
 * GiB behind the bench's emulated link read at 241–315 MB/s with 62 MiB windows (8 runs)
 * against 280–336 with 126 MiB (4 runs), the 256 MiB shard at 203–223 against 256–280 MB/s
 * (three interleaved rounds; session 21, docs/ARCHITECTURE.md), and the S3 server spent
 * less CPU on it (0.62–0.78 against 0.43–0.51 s). 190 MiB gave no more (312–327 MB/s).
 * Windows as large as the tier, with the tier's room shared, once made the blocks fetched
 * last evict the ones about to be read (2026-12-02).
 */
export const READ_AHEAD_BUDGET_BYTES = 128 * MiB

/**
 * Fetched blocks' buffers kept for reuse once nothing holds them (cache/block-pool.ts): a
 * sequential reader lets go of blocks as fast as its GETs need new ones, so a few parts'
 * worth carry a whole cold read with no new memory; more are left to the collector.
 */
export const BLOCK_POOL_FREE_BYTES = 32 * MiB
/** How long metadata (stat, listings) is trusted before asking the store again. */
export const METADATA_TTL = '60s'
/** How long "no such file" is trusted: short, since new objects should appear soon. */
export const NEGATIVE_TTL = '5s'
/**
 * While the store fails (network, timeouts, 5xx after retries), metadata this far past its TTL is
 * still served, and with it the cached data of the version it names: an hour rides out an outage
 * of the store without hiding a bucket changed long ago. `0` turns it off.
 */
export const STALE_IF_ERROR = '1h'
/** During a store outage, known paths are answered stale at once for this long after each failure, then the store is tried again. */
export const STALE_RETRY_INTERVAL_MS = 5000
/**
 * Cached path entries the listings do not hold (HEAD answers, "absent", changes through the mount,
 * first pages of huge directories): a listed file is not also here (src/metadata/metadata-caches.ts).
 * A full entry costs ~500 B, so this bound is ~750 MiB in the worst case, reached only by lookups
 * outside listed directories.
 */
export const MAX_METADATA_ENTRIES = 1_500_000
/**
 * Children held by cached directory listings in total: 10 M files (LAION-style datasets) stay
 * listed. Packed, a child costs ~90 B of heap and typed arrays, ~120 B of RSS
 * (test/core/metadata-memory.test.ts): ~1.1 GiB when full.
 */
export const MAX_LISTED_CHILDREN = 10_000_000
/**
 * Listings kept on disk beside the block cache for the next mount (live records): ImageNet's
 * 1.28 M files take ~150 MB, so 1 GiB holds several such datasets per source.
 */
export const LISTING_MANIFEST_MAX_BYTES = 1 * GiB
/** Directories kept in that manifest: one index entry of ~150 B each stays in memory (~30 MB). */
export const LISTING_MANIFEST_MAX_DIRECTORIES = 200_000
/**
 * The kernel's read-ahead window for the mount (`--kernel-read-ahead`), which also sizes its read
 * requests: at the kernel's own 128 KiB a sequential reader costs a request per 128 KiB; at 1 MiB
 * (libfuse 3's largest request, one cache block) a request per MiB. Set by the daemon when it runs as root.
 */
export const KERNEL_READ_AHEAD = '1MiB'
/**
 * The kernel's bound on the mount's background requests (`--fuse-max-background`: read-ahead
 * reads and releases), congested at three quarters of it. At the kernel's own 12 (congested at
 * 9) a warm epoch of ~110 KB files read by 16 threads met the mark often enough that the
 * kernel dropped read-ahead's asynchronous part and asked for the rest of a file in a second
 * READ (1.8 READs per file; 1.0 at 64), and ran 12–24 % slower (docs/ARCHITECTURE.md, session 24).
 * 64 is what mountpoint-s3's fuser users and gcsfuse's tuning guides set too.
 */
export const FUSE_MAX_BACKGROUND = 64
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
/**
 * V8 flags the daemon starts with (unless the user's node flags name them). Every fetched
 * block is a new 1 MiB buffer outside the JS heap; with V8's small starting old-generation
 * limit, that churn set off a full mark-compact every ~40 ms of a cold sequential read (30
 * for one 256 MiB shard). Starting the limit at 128 MiB leaves 4–5: the daemon's CPU for
 * that read went from 2.34 to 1.48 s and its speed from 94 to 135 MB/s (mean of 4 runs
 * each, docs/ARCHITECTURE.md), for 20–40 MiB more peak RSS (garbage buffers live longer).
 */
/*
 * `--heap-growing-percent=50`: after each full GC V8 lets the old generation grow to 1.5×
 * what survived, instead of up to 4× when the main thread is busy. At scale the JS heap
 * holds ~110 MiB of live metadata and index; V8 kept it in a 346 MiB heap, with the flag
 * 178 MiB (200,000-file cold epoch, docs/ARCHITECTURE.md). The shard read above runs the
 * same 5–6 mark-compacts with or without it (`--trace-gc`).
 */
export const DAEMON_V8_FLAGS: readonly string[] = ['--initial-old-space-size=128', '--heap-growing-percent=50']
/**
 * glibc arenas for the daemon (MALLOC_ARENA_MAX, unless the environment sets it): every FUSE
 * worker and libuv thread would otherwise get an arena of its own (up to 8 per core), each
 * keeping freed memory; two hold what the binding's threads allocate. Not set any more:
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (huge pages for the heap, sessions 13–16). The heap
 * then kept whole 2 MiB pages of freed block buffers resident: peak RSS 257–631 MiB over
 * cold random reads of a 256 MiB shard with four threads, against 266–287 without, and three
 * shard benchmarks each way took more daemon CPU with it, not less (docs/ARCHITECTURE.md).
 */
export const DAEMON_MALLOC_ARENA_MAX = 2

/** Written files up to this size go into the block cache after upload: reading back costs no GET. */
export const ADOPT_MAX_BYTES = 64 * MiB
/** Default write mode: close returns once the data is in the bucket. */
export const WRITE_MODE = 'sync'
/** Files uploaded at once, in the upload lane apart from reads: enough to hide per-request latency for small files. */
export const UPLOAD_CONCURRENCY = 16
/** Memory the uploads' part buffers may hold at once (lib-storage keeps 8 parts per upload). */
export const UPLOAD_BUFFER_BUDGET_BYTES = 128 * MiB
/** Async mode: closed files waiting for upload before close() waits for room (backpressure)... */
export const UPLOAD_BACKLOG_MAX_FILES = 4096
/** ...and their bytes: a writer faster than the store slows to its pace instead of filling the disk. */
export const UPLOAD_BACKLOG_MAX_BYTES = 4 * GiB
/** What recovery set aside (unreadable journals, unclosed changes) is kept this long for the operator. */
export const RECOVERED_KEEP_MS = 7 * 24 * 3600 * 1000
/**
 * Bound of written data staged on local disk (`--staging-size`), apart from `--cache-size`:
 * room for several multi-GiB checkpoint shards being written and uploaded at once, and a
 * limit so a writer faster than the store cannot fill the disk the block cache lives on.
 * A single file larger than this cannot be written through the mount (ENOSPC).
 */
export const STAGING_SIZE = '32GiB'
/** At the staging bound a write waits this long at most for uploads to make room, then ENOSPC: as long as one upload may take. */
export const STAGING_WAIT_MS = 10 * 60 * 1000
/** The smallest `--staging-size`: one upload part, so a streamed file can make progress. */
export const STAGING_MIN_BYTES = 8 * MiB
/** A file written front to back uploads each part of this size as soon as it is complete (from its second part on). */
export const STREAM_PART_BYTES = 8 * MiB
/** A directory rename does at most this many server-side copies inside one FUSE request (~seconds); more is EXDEV. */
export const RENAME_DIR_MAX_OBJECTS = 1000

/** How often the daemon checks that its mount is still in the mount table (released from outside: it exits). */
export const MOUNT_WATCH_INTERVAL_MS = 1000
/** How long the daemon tries to upload pending writes when asked to stop; the rest stays staged. */
export const SHUTDOWN_FLUSH_MS = 120_000

export const FILE_MODE = 0o644
export const DIR_MODE = 0o755

export const DEFAULT_LOG_LEVEL = 'warn'
/** How long `mount` waits for the daemon to be ready before giving up. */
export const MOUNT_READY_TIMEOUT_MS = 60_000
/** How long `unmount` waits for the daemon to exit after SIGTERM. */
export const UNMOUNT_WAIT_MS = 30_000
/**
 * How long the daemon's shutdown waits for its own unmount (`fusermount -uz`, which returns at
 * once) before it logs and goes on to exit: a daemon of a CI run once waited for ever on that
 * child, whose exit libuv never reaped (2026-12-03).
 */
export const UNMOUNT_STEP_MS = 15_000

/** Eviction policy: survives epochs over datasets larger than the cache (see src/cache/eviction/s3-fifo-policy.ts). */
export const DEFAULT_EVICTION = 'scan-resistant'
/**
 * Where file attributes come from: `listing` costs no HEAD per file (a cold epoch is bound by
 * requests: one GET per file is the floor), so objects written by other tools show default
 * modes until a HEAD happens anyway; `head` reads s3fs's headers on a file's first stat.
 */
export const POSIX_METADATA = 'listing'
/** How long cached data is kept after it was fetched: forever unless an operator says otherwise. */
export const CACHE_TTL = 'never'
/** Expired blocks are swept this often (ms) while any TTL applies; reads drop expired blocks at once anyway. */
export const TTL_SWEEP_INTERVAL_MS = 10_000
/** Periodic re-listing of cached directories: off; the metadata TTL already bounds staleness. */
export const METADATA_SYNC_INTERVAL = 'never'
/** Directories re-listed at once by `refresh` and the sync: a few LIST pages in flight, not a storm. */
export const REFRESH_CONCURRENCY = 8
/** Files one `load` fetches at once; the FetchQueue bounds requests and memory in any case. */
export const LOAD_CONCURRENCY = 16
/** Parts of one large file a `load` holds in memory at once (4 × 8 MiB), so a 10 GB shard needs 32 MiB. */
export const LOAD_WINDOW_PARTS = 4
/** Parts a background whole-object fetch (random access) keeps in flight: 8 × 8 MiB saturates a link of 8 connections. */
export const WHOLE_FETCH_PARTS = 8
/** Non-sequential reads of one handle before its object is fetched whole (one footer read never is). */
export const RANDOM_READS_BEFORE_WHOLE_FETCH = 4
/** An object is fetched whole on random access only if it is at most this share of --cache-size. */
export const WHOLE_FETCH_MAX_CACHE_SHARE = 0.25

/** Cross-file prefetch starts once this many distinct files were opened under one directory (a shuffled epoch)... */
export const SCAN_PREFETCH_DISTINCT_OPENS = 32
/** ...within this window (ms); */
export const SCAN_PREFETCH_WINDOW_MS = 60_000
/** it stops when no file under the tree was opened for this long (ms): reads stopped. */
export const SCAN_PREFETCH_IDLE_STOP_MS = 10_000
/** Files it fetches at once: a share of the queue's 64, so foreground reads keep most of it. */
export const SCAN_PREFETCH_FILES_IN_FLIGHT = 16
/** Larger files are left to their own sequential read-ahead. */
export const SCAN_PREFETCH_MAX_FILE_BYTES = 64 * MiB
/** Prefetch keeps this share of the cache free (it never makes the cache evict). */
export const SCAN_PREFETCH_CACHE_HEADROOM = 0.05

/** `s3cachefs prefetch --list`: files kept ready ahead of the reader... */
export const ANNOUNCED_WINDOW_FILES = 256
/** ...and bytes (256 files of ~110 KB, or a few large shards)... */
export const ANNOUNCED_WINDOW_BYTES = 1024 * MiB
/** ...fetched this many at once (a serial reader then runs at ~32× its latency bound)... */
export const ANNOUNCED_CONCURRENCY = 32
/** ...out of one list of at most this many paths (~150 B of memory each)... */
export const ANNOUNCED_MAX_PATHS = 5_000_000
/** ...per announcing process (a training rank); this many most recent ones are followed at once. */
export const ANNOUNCED_SESSIONS = 16

/** Directories a `load` lists at once while measuring what it will fetch. */
export const LOAD_LIST_CONCURRENCY = 8
/** Finished load jobs remembered for `stats` and `load --wait`. */
export const LOAD_JOBS_KEPT = 20
/** How often `load --wait` redraws its progress line on a terminal (ms). */
export const LOAD_PROGRESS_TTY_MS = 250
/** How often `load --wait` prints a progress line when not on a terminal (ms): a log, not a flood. */
export const LOAD_PROGRESS_LOG_MS = 5000
/** How often `stats --watch` redraws (ms). */
export const STATS_WATCH_INTERVAL_MS = 1000
/** The Prometheus endpoint listens on loopback only: metrics are for a local agent, not the network. */
export const METRICS_HOST = '127.0.0.1'
/** S3 latency histogram buckets (seconds): from a LAN hit (5 ms) to the request deadline (20 s). */
export const S3_LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20]

/** Shared tier (--shared-cache): objects above this size are not shared; each block of one costs a PUT. */
export const SHARED_CACHE_MAX_OBJECT_SIZE = '1GiB'
/** Deadline of one shared-tier request: a tier near the nodes answers in ms; past this, the origin is as good. */
export const SHARED_TIER_TIMEOUT_MS = 2000
/** A tier connection attempt fails this fast (an unreachable tier must not slow reads). */
export const SHARED_TIER_CONNECT_TIMEOUT_MS = 1000
/** Attempts per tier request: one retry, since a miss only costs an origin GET. */
export const SHARED_TIER_MAX_ATTEMPTS = 2
/** Tier reads in flight at once: as many as origin fetches. */
export const SHARED_TIER_READ_CONCURRENCY = 64
/** Tier writes in flight at once: background work, a share of the link. */
export const SHARED_TIER_WRITE_CONCURRENCY = 8
/** Tier writes waiting (1 MiB blocks, so ~64 MiB of memory) beyond which new ones are dropped. */
export const SHARED_TIER_MAX_QUEUED_WRITES = 64
/** A node's lease on a block it fetches for the others (origin GET + tier PUT); waiters wait at most this. */
export const COORDINATOR_LEASE_MS = 5000
/** How often a waiter looks at another node's lease: a fraction of one origin round trip. */
export const COORDINATOR_LEASE_POLL_MS = 20
/** Deadline of one Redis command: Redis answers in well under a ms on a LAN; slower means work alone. */
export const COORDINATOR_COMMAND_TIMEOUT_MS = 250
export const COORDINATOR_CONNECT_TIMEOUT_MS = 1000
/** Delay between reconnections while Redis is down. */
export const COORDINATOR_RECONNECT_MS = 1000
/** Prefix of every Redis key s3cachefs writes. */
export const COORDINATOR_KEY_PREFIX = 's3cachefs:'

export { MiB }
