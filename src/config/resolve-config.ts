/**
 * Turns the `mount` command's flags into one validated, frozen configuration with
 * a sub-config per layer. Every rule is checked here, once, at start; errors are
 * ConfigError naming the flag.
 */
import { createHash } from 'node:crypto'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { BlockReaderConfig } from '../cache/block-reader.js'
import type { DiskCacheConfig } from '../cache/disk-block-cache.js'
import type { FetchQueueConfig } from '../cache/fetch-queue.js'
import { ConfigError } from '../errors.js'
import type { FilesystemConfig } from '../fuse/filesystem-core.js'
import type { FuseMountConfig } from '../fuse/fuse-adapter.js'
import type { MetadataConfig } from '../metadata/metadata-store.js'
import type { PersistentManifestConfig } from '../metadata/persistent-listing-manifest.js'
import { parseEvictionPolicy } from '../cache/eviction/eviction-policy.js'
import type { SdkClientConfig } from '../s3/sdk-object-client.js'
import type { WriteBackConfig, WriteMode } from '../write/write-back.js'
import type { ScanPrefetchConfig } from '../prefetch/scan-prefetcher.js'
import type { AnnouncedOrderConfig } from '../prefetch/announced-order.js'
import * as D from './defaults.js'
import { parseS3Url, type S3Location } from './s3-url.js'
import { parseBytes, parseDurationMs } from './units.js'
import { resolveCoordinator, resolveSharedTier, type SharedOptions, type SharedTierSetup } from './resolve-shared.js'
import type { CoordinatorConfig } from '../coord/coordinator-config.js'

/** The `mount` flags as commander hands them over (all strings or booleans). */
export interface MountOptions extends SharedOptions {
  cacheDir?: string
  cacheSize?: string
  stagingSize?: string
  endpointUrl?: string
  region?: string
  profile?: string
  pathStyle?: boolean
  sdkGets?: boolean
  readOnly?: boolean
  foreground?: boolean
  metadataTtl?: string
  staleIfError?: string
  negativeTtl?: string
  maxConcurrency?: string
  logLevel?: string
  logFile?: string
  allowOther?: boolean
  /** commander's --no-default-permissions: false when given. */
  defaultPermissions?: boolean
  debugFuse?: boolean
  directReads?: boolean
  /** `--passthrough <size>`: the budget of whole-object copies the kernel reads itself; absent or '0': off. */
  passthrough?: string
  kernelReadAhead?: string
  fuseMaxBackground?: string
  xattr?: boolean
  writeMode?: string
  cacheTtl?: string
  metadataSyncInterval?: string
  metricsPort?: string
  memoryCacheSize?: string
  eviction?: string
  prefetchAfter?: string
  /** commander's --no-persist-listings: false when given. */
  persistListings?: boolean
  posixMetadata?: string
}

/** Operator commands (load, refresh, the metadata sync). */
export interface OpsConfig {
  /** Re-list cached directories this often; Infinity never. */
  readonly metadataSyncIntervalMs: number
  readonly refreshConcurrency: number
  readonly loadConcurrency: number
  readonly loadListConcurrency: number
  readonly loadJobsKept: number
}

export interface MetricsConfig {
  /** Port of the Prometheus endpoint (0: any free port); undefined when off. */
  readonly port: number | undefined
  readonly host: string
}

export interface MountConfig {
  readonly source: S3Location
  readonly sourceUrl: string
  readonly mountPoint: string
  readonly foreground: boolean
  readonly logLevel: string
  readonly logFile: string
  readonly s3: SdkClientConfig
  readonly metadata: MetadataConfig
  /** The listing manifest beside the block cache; undefined with --no-persist-listings. */
  readonly listings: PersistentManifestConfig | undefined
  readonly disk: DiskCacheConfig
  readonly reader: BlockReaderConfig
  readonly queue: FetchQueueConfig
  readonly fs: FilesystemConfig
  readonly fuse: FuseMountConfig
  readonly write: WriteBackConfig
  readonly prefetch: ScanPrefetchConfig
  readonly announced: AnnouncedOrderConfig
  readonly ops: OpsConfig
  readonly metrics: MetricsConfig
  /** --shared-cache: the second tier other nodes share; undefined when off. */
  readonly shared: SharedTierSetup | undefined
  /** --coordinator: cross-node single-flight and listing manifest; undefined when off. */
  readonly coordinator: CoordinatorConfig | undefined
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export function resolveMountConfig(sourceUrl: string, mountPoint: string, o: MountOptions): MountConfig {
  const source = parseS3Url(sourceUrl)
  const mp = resolve(mountPoint)
  const cacheDir = resolve(o.cacheDir ?? defaultCacheDir(sourceUrl))
  const cacheBytes = parseBytes(o.cacheSize ?? D.DEFAULT_CACHE_SIZE, '--cache-size')
  if (cacheBytes < 16 * D.MiB) throw new ConfigError(`--cache-size: must be at least 16MiB (got ${o.cacheSize})`)
  const passthroughBytes = o.passthrough === undefined || o.passthrough === 'off' ? 0 : parseBytes(o.passthrough, '--passthrough')
  if (passthroughBytes > 0 && passthroughBytes < D.PASSTHROUGH_MIN_OBJECT_BYTES)
    throw new ConfigError(`--passthrough: must be 0 or at least ${D.PASSTHROUGH_MIN_OBJECT_BYTES / D.MiB}MiB, room for one copy (got ${o.passthrough})`)
  const stagingBytes = parseBytes(o.stagingSize ?? D.STAGING_SIZE, '--staging-size')
  if (stagingBytes < D.STAGING_MIN_BYTES) throw new ConfigError(`--staging-size: must be at least 8MiB, one upload part (got ${o.stagingSize})`)
  const ttlMs = parseDurationMs(o.metadataTtl ?? D.METADATA_TTL, '--metadata-ttl')
  const negativeTtlMs = parseDurationMs(o.negativeTtl ?? D.NEGATIVE_TTL, '--negative-ttl')
  const staleIfErrorMs = o.staleIfError === 'off' ? 0 : parseDurationMs(o.staleIfError ?? D.STALE_IF_ERROR, '--stale-if-error')
  const cacheTtlMs = parseDurationMs(o.cacheTtl ?? D.CACHE_TTL, '--cache-ttl')
  if (!(cacheTtlMs > 0)) throw new ConfigError(`--cache-ttl: must be positive, or never (got '${o.cacheTtl}')`)
  const syncText = o.metadataSyncInterval === 'off' ? 'never' : (o.metadataSyncInterval ?? D.METADATA_SYNC_INTERVAL)
  const syncMs = parseDurationMs(syncText, '--metadata-sync-interval')
  if (syncMs < 1000) throw new ConfigError(`--metadata-sync-interval: must be at least 1s, or never (got '${o.metadataSyncInterval}')`)
  const concurrency = parseInteger(o.maxConcurrency ?? String(D.MAX_CONCURRENCY), '--max-concurrency', 1, 1024)
  const logLevel = o.logLevel ?? D.DEFAULT_LOG_LEVEL
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`--log-level: must be one of ${[...LOG_LEVELS].join(', ')}`)
  if (o.endpointUrl !== undefined && !/^https?:\/\/[^/]+/.test(o.endpointUrl)) {
    throw new ConfigError(`--endpoint-url: '${o.endpointUrl}' is not an http(s) URL`)
  }
  const writeMode = o.writeMode ?? D.WRITE_MODE
  if (writeMode !== 'sync' && writeMode !== 'async') throw new ConfigError(`--write-mode: must be sync or async (got '${writeMode}')`)
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  const s3: SdkClientConfig = {
    bucket: source.bucket,
    ...(o.region !== undefined
      ? { region: o.region }
      : o.endpointUrl !== undefined && process.env.AWS_REGION === undefined && process.env.AWS_DEFAULT_REGION === undefined
        ? { region: 'us-east-1' }
        : {}),
    ...(o.endpointUrl !== undefined ? { endpointUrl: o.endpointUrl } : {}),
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
    // Custom endpoints (MinIO, Ceph, local servers) rarely serve virtual-hosted buckets.
    forcePathStyle: o.pathStyle ?? o.endpointUrl !== undefined,
    maxSockets: concurrency,
    maxAttempts: D.S3_MAX_ATTEMPTS,
    connectTimeoutMs: D.S3_CONNECT_TIMEOUT_MS,
    requestDeadlineMs: D.S3_REQUEST_DEADLINE_MS,
    ...(o.sdkGets === true ? { sdkGets: true } : {}),
  }

  return deepFreeze({
    source,
    sourceUrl,
    mountPoint: mp,
    foreground: o.foreground === true,
    logLevel,
    logFile: resolve(o.logFile ?? join(cacheDir, 's3cachefs.log')),
    s3,
    shared: resolveSharedTier(o, source, s3, D.BLOCK_SIZE_BYTES),
    coordinator: resolveCoordinator(o),
    metadata: {
      ttlMs,
      negativeTtlMs,
      staleIfErrorMs,
      maxEntries: D.MAX_METADATA_ENTRIES,
      maxListedChildren: D.MAX_LISTED_CHILDREN,
      headForAttributes: parsePosixMetadata(o.posixMetadata ?? D.POSIX_METADATA) === 'head',
      readOnly: o.readOnly === true,
    },
    listings:
      o.persistListings === false
        ? undefined
        : {
            dir: join(cacheDir, 'listings'),
            source: `s3://${source.bucket}/${source.prefix}@${o.endpointUrl ?? 'aws'}`,
            maxBytes: D.LISTING_MANIFEST_MAX_BYTES,
            maxDirectories: D.LISTING_MANIFEST_MAX_DIRECTORIES,
          },
    disk: {
      dir: cacheDir,
      maxBytes: cacheBytes,
      maxPendingWrites: D.MAX_PENDING_BLOCK_WRITES,
      eviction: parseEvictionPolicy(o.eviction ?? D.DEFAULT_EVICTION, '--eviction'),
      defaultTtlMs: cacheTtlMs,
      ttlSweepIntervalMs: D.TTL_SWEEP_INTERVAL_MS,
      namespace: `s3://${source.bucket}/${source.prefix}@${o.endpointUrl ?? 'aws'}`,
    },
    ops: {
      metadataSyncIntervalMs: syncMs,
      refreshConcurrency: D.REFRESH_CONCURRENCY,
      loadConcurrency: D.LOAD_CONCURRENCY,
      loadListConcurrency: D.LOAD_LIST_CONCURRENCY,
      loadJobsKept: D.LOAD_JOBS_KEPT,
    },
    metrics: {
      port: o.metricsPort === undefined ? undefined : parseInteger(o.metricsPort, '--metrics-port', 0, 65535),
      host: D.METRICS_HOST,
    },
    reader: {
      blockSize: D.BLOCK_SIZE_BYTES,
      partSize: D.PART_SIZE_BYTES,
      wholeObjectMaxBytes: D.WHOLE_OBJECT_MAX_BYTES,
      memoryCacheBytes: parseBytes(o.memoryCacheSize ?? D.MEMORY_CACHE_SIZE, '--memory-cache-size'),
      readAheadBudgetBytes: D.READ_AHEAD_BUDGET_BYTES,
      namespace: `s3://${source.bucket}/${source.prefix}@${o.endpointUrl ?? 'aws'}`,
    },
    queue: {
      concurrency,
      inFlightBudgetBytes: D.IN_FLIGHT_BUDGET_BYTES,
      foregroundReserveBytes: D.FOREGROUND_RESERVE_BYTES,
      maxQueuedPrefetch: D.MAX_QUEUED_PREFETCH,
    },
    fs: {
      uid,
      gid,
      fileMode: D.FILE_MODE,
      dirMode: D.DIR_MODE,
      readOnly: o.readOnly === true,
      fileReader: {
        // One reader's window is also bounded by the BlockReader's AheadBudget (READ_AHEAD_BUDGET_BYTES for all windows together).
        readAhead: { initialWindowBytes: D.READ_AHEAD_INITIAL_BYTES, maxWindowBytes: D.READ_AHEAD_MAX_BYTES, stepBytes: D.PART_SIZE_BYTES },
        randomReadsBeforeWholeFetch: D.RANDOM_READS_BEFORE_WHOLE_FETCH,
        wholeFetchMaxBytes: Math.floor(cacheBytes * D.WHOLE_FETCH_MAX_CACHE_SHARE),
      },
      adoptMaxBytes: D.ADOPT_MAX_BYTES,
      namespace: { renameDirMaxObjects: D.RENAME_DIR_MAX_OBJECTS },
      passthrough:
        passthroughBytes === 0 ? undefined : { dir: join(cacheDir, 'whole'), maxBytes: passthroughBytes, minObjectBytes: D.PASSTHROUGH_MIN_OBJECT_BYTES },
    },
    prefetch: {
      distinctOpensToStart:
        o.prefetchAfter === 'off' ? 0 : parseInteger(o.prefetchAfter ?? String(D.SCAN_PREFETCH_DISTINCT_OPENS), '--prefetch-after', 2, 1_000_000),
      windowMs: D.SCAN_PREFETCH_WINDOW_MS,
      idleStopMs: D.SCAN_PREFETCH_IDLE_STOP_MS,
      filesInFlight: D.SCAN_PREFETCH_FILES_IN_FLIGHT,
      maxFileBytes: D.SCAN_PREFETCH_MAX_FILE_BYTES,
    },
    announced: {
      windowFiles: D.ANNOUNCED_WINDOW_FILES,
      windowBytes: D.ANNOUNCED_WINDOW_BYTES,
      concurrency: D.ANNOUNCED_CONCURRENCY,
      maxPaths: D.ANNOUNCED_MAX_PATHS,
    },
    write: {
      mode: writeMode as WriteMode,
      source: { bucket: source.bucket, prefix: source.prefix },
      uploadConcurrency: D.UPLOAD_CONCURRENCY,
      uploadBufferBudgetBytes: D.UPLOAD_BUFFER_BUDGET_BYTES,
      backlog: { maxFiles: D.UPLOAD_BACKLOG_MAX_FILES, maxBytes: D.UPLOAD_BACKLOG_MAX_BYTES },
      recoveredKeepMs: D.RECOVERED_KEEP_MS,
      streamPartBytes: D.STREAM_PART_BYTES,
      staging: { maxBytes: stagingBytes, waitMs: D.STAGING_WAIT_MS },
    },
    fuse: {
      mountPoint: mp,
      fsName: `s3cachefs#${source.bucket}`,
      allowOther: o.allowOther === true,
      // Other users get kernel permission checks (modes, owners) unless the operator opts out.
      defaultPermissions: o.allowOther === true && o.defaultPermissions !== false,
      // The kernel must not trust attributes longer than the sync that would correct them.
      kernelTtlSeconds: Math.min(D.MAX_KERNEL_TTL_SECONDS, ttlMs / 1000, syncMs / 1000),
      opTimeoutMs: D.FUSE_OP_TIMEOUT_MS,
      debug: o.debugFuse === true,
      directReads: o.directReads !== false,
      kernelReadAheadKiB: kernelReadAheadKiB(o.kernelReadAhead ?? D.KERNEL_READ_AHEAD),
      maxBackground: parseInteger(o.fuseMaxBackground ?? String(D.FUSE_MAX_BACKGROUND), '--fuse-max-background', 0, 65535),
      xattrs: o.xattr === true,
    },
  })
}

/** `--kernel-read-ahead`: whole KiB, 0 to leave the kernel's own window. */
export function kernelReadAheadKiB(text: string): number {
  const bytes = parseBytes(text, '--kernel-read-ahead')
  if (bytes % 1024 !== 0 || bytes > 64 * 1024 * 1024)
    throw new ConfigError(`--kernel-read-ahead: '${text}' must be whole KiB, at most 64MiB (0: the kernel's default)`)
  return bytes / 1024
}

/** One cache directory per source by default, so two mounts never share (and lock) one. */
function defaultCacheDir(sourceUrl: string): string {
  const base = (process.getuid?.() ?? 1) === 0 ? '/var/cache/s3cachefs' : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 's3cachefs')
  const name = sourceUrl
    .replace(/^s3:\/\//, '')
    .replace(/[^a-zA-Z0-9._-]+/g, '_')
    .slice(0, 60)
  return join(base, `${name}-${createHash('sha256').update(sourceUrl).digest('hex').slice(0, 8)}`)
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${flag}: must be a whole number from ${min} to ${max} (got '${text}')`)
  return n
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

/** `--posix-metadata`: where a file's s3fs headers (mode, owners, times) come from. */
function parsePosixMetadata(text: string): 'listing' | 'head' {
  if (text === 'listing' || text === 'head') return text
  throw new ConfigError(`--posix-metadata: must be listing or head (got '${text}')`)
}
