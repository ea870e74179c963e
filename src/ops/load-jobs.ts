/**
 * `s3cachefs load`: preloads files or whole prefixes into the disk cache, as
 * background jobs of the daemon that `stats` and `load --wait` follow.
 *
 * A job first measures what it will fetch by walking the listings (which also
 * warms the metadata cache), and refuses before fetching anything when that is
 * more than the cache can hold beside pinned data. Then it hands each file to
 * BlockReader.preload, `concurrency` files at a time: the same FetchQueue and
 * in-flight map as reads, so a training job can read while the load runs and no
 * block is fetched twice.
 *
 * With `shared` (`load --shared [--shard I/N]`), the job warms the shared tier instead
 * (TierWarmer): only the files of its shard, no disk-cache room needed.
 *
 * States: listing → loading → done | failed (refused, or the walk failed).
 */
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import { formatBytes } from '../config/units.js'
import { CacheCapacityError, ConfigError, S3CacheFsError, messageOf } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { filesOf, measureTree, normalizePaths, type TreeMeasure } from './tree-walker.js'
import { inShard, type Shard, type TierWarmer } from './tier-warmer.js'
import type { FileEntry } from '../metadata/entry.js'

export type LoadState = 'listing' | 'loading' | 'done' | 'failed'

export interface LoadJobStatus {
  readonly id: number
  readonly paths: readonly string[]
  readonly state: LoadState
  /** Files and bytes the job will load (known once listing is over). */
  readonly files: number
  readonly bytes: number
  readonly filesDone: number
  readonly bytesDone: number
  /** Files being loaded right now. */
  readonly filesLoading: number
  /** Files that could not be loaded (deleted or changed since listed, or the store failed). */
  readonly failedFiles: number
  /** Why the job failed, or the first file failure. */
  readonly error?: string
  readonly startedAt: string
  readonly elapsedMs: number
  /** Present for `load --shared`: the shard this node loads into the shared tier. */
  readonly shared?: Shard
}

export interface LoadTotals {
  /** Jobs listing or loading. */
  readonly active: number
  /** Files being loaded now, over all jobs. */
  readonly objectsLoading: number
  readonly files: number
  readonly filesDone: number
  readonly bytes: number
  readonly bytesDone: number
  readonly failedFiles: number
}

export interface LoadJobsConfig {
  /** Directories listed at once while measuring. */
  readonly listConcurrency: number
  /** Finished jobs remembered. */
  readonly jobsKept: number
}

class LoadJob {
  state: LoadState = 'listing'
  files = 0
  bytes = 0
  filesDone = 0
  bytesDone = 0
  filesLoading = 0
  failedFiles = 0
  error: string | undefined
  finishedMs: number | undefined
  readonly startedMs = Date.now()

  constructor(
    readonly id: number,
    readonly paths: readonly string[],
    readonly shared: Shard | undefined,
  ) {}

  status(): LoadJobStatus {
    return {
      id: this.id,
      paths: this.paths,
      state: this.state,
      files: this.files,
      bytes: this.bytes,
      filesDone: this.filesDone,
      bytesDone: this.bytesDone,
      filesLoading: this.filesLoading,
      failedFiles: this.failedFiles,
      ...(this.error !== undefined ? { error: this.error } : {}),
      startedAt: new Date(this.startedMs).toISOString(),
      elapsedMs: (this.finishedMs ?? Date.now()) - this.startedMs,
      ...(this.shared !== undefined ? { shared: this.shared } : {}),
    }
  }
}

export class LoadJobs {
  readonly #config: LoadJobsConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #disk: DiskBlockCache
  readonly #log: Logger
  readonly #warmer: TierWarmer | undefined
  readonly #jobs: LoadJob[] = []
  #nextId = 1

  constructor(config: LoadJobsConfig, metadata: MetadataStore, reader: BlockReader, disk: DiskBlockCache, log: Logger, warmer?: TierWarmer) {
    this.#config = config
    this.#warmer = warmer
    this.#metadata = metadata
    this.#reader = reader
    this.#disk = disk
    this.#log = log
  }

  /** Starts a job in the background and returns its first status. */
  start(paths: readonly string[], concurrency: number, shared?: Shard): LoadJobStatus {
    if (shared !== undefined && this.#warmer === undefined) throw new ConfigError('load --shared: this mount has no --shared-cache')
    const job = new LoadJob(this.#nextId++, normalizePaths(paths), shared)
    this.#jobs.push(job)
    this.#forgetOldJobs()
    this.#run(job, concurrency).catch((err: unknown) => {
      job.state = 'failed'
      job.error = messageOf(err)
      job.finishedMs = Date.now()
      if (!(err instanceof CacheCapacityError)) this.#log.warn({ err, job: job.id }, 'load failed')
    })
    return job.status()
  }

  list(): LoadJobStatus[] {
    return this.#jobs.map(j => j.status())
  }

  totals(): LoadTotals {
    const t = { active: 0, objectsLoading: 0, files: 0, filesDone: 0, bytes: 0, bytesDone: 0, failedFiles: 0 }
    for (const j of this.#jobs) {
      if (j.state === 'listing' || j.state === 'loading') t.active++
      t.objectsLoading += j.filesLoading
      t.files += j.files
      t.filesDone += j.filesDone
      t.bytes += j.bytes
      t.bytesDone += j.bytesDone
      t.failedFiles += j.failedFiles
    }
    return t
  }

  async #run(job: LoadJob, concurrency: number): Promise<void> {
    const ns = this.#disk.namespaceId
    const m = await measureTree(this.#metadata, job.paths, this.#config.listConcurrency, key => this.#disk.rules.isPinned(ns, key))
    const shard = job.shared
    const warmer = this.#warmer
    let files: AsyncIterable<{ path: string; entry: FileEntry }> | Array<{ path: string; entry: FileEntry }> = filesOf(this.#metadata, m)
    if (shard !== undefined) {
      files = []
      for await (const f of filesOf(this.#metadata, m)) if (inShard(f.entry.key, shard) && f.entry.size <= (warmer?.maxObjectBytes ?? 0)) files.push(f)
      job.files = files.length
      job.bytes = files.reduce((sum, f) => sum + f.entry.size, 0)
    } else {
      this.#checkFits(job, m)
      job.files = m.files
      job.bytes = m.bytes
    }
    job.state = 'loading'
    this.#log.info({ job: job.id, paths: job.paths, files: job.files, bytes: job.bytes, shared: shard }, 'load started')
    await forEachLimit(files, concurrency, async ({ path, entry }) => {
      job.filesLoading++
      try {
        const version = { key: entry.key, etag: entry.etag, size: entry.size }
        const onBytes = (n: number) => {
          job.bytesDone += n
        }
        if (shard !== undefined && warmer !== undefined) await warmer.warm(version, onBytes)
        else await this.#reader.preload(version, onBytes)
      } catch (err) {
        job.failedFiles++
        job.error ??= `${path}: ${messageOf(err)}`
        this.#log.warn({ path, code: err instanceof S3CacheFsError ? err.code : undefined, err }, 'load of a file failed')
      } finally {
        job.filesLoading--
        job.filesDone++
      }
    })
    job.state = 'done'
    job.finishedMs = Date.now()
    this.#log.info({ job: job.id, files: job.filesDone, failed: job.failedFiles, bytes: job.bytesDone, ms: job.finishedMs - job.startedMs }, 'load finished')
  }

  /** Refuses, before any GET, a load larger than the cache minus what pins reserve. */
  #checkFits(job: LoadJob, m: TreeMeasure): void {
    const stats = this.#disk.stats()
    const ns = this.#disk.namespaceId
    const reserved = this.#disk.rules.pins.reduce((sum, p) => sum + (p.ns === ns ? p.bytes : 0), 0)
    const pinned = Math.max(stats.pinnedBytes, reserved)
    const available = Math.max(0, stats.maxBytes - pinned)
    const needed = m.bytes - m.flaggedBytes // pinned files are already counted in `pinned`
    if (needed <= available) return
    throw new CacheCapacityError(
      `${job.paths.join(' ')} holds ${formatBytes(m.bytes)} in ${m.files} files: more than the cache can hold ` +
        `(--cache-size ${formatBytes(stats.maxBytes)}, ${formatBytes(pinned)} of it pinned, ${formatBytes(available)} available); nothing was loaded`,
    )
  }

  #forgetOldJobs(): void {
    const finished = this.#jobs.filter(j => j.state === 'done' || j.state === 'failed')
    for (const j of finished.slice(0, Math.max(0, finished.length - this.#config.jobsKept))) this.#jobs.splice(this.#jobs.indexOf(j), 1)
  }
}
