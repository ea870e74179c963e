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
 * States: listing → loading → done | failed (refused, or the walk failed).
 */
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import { formatBytes } from '../config/units.js'
import { CacheCapacityError, S3CacheFsError, messageOf } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { filesOf, measureTree, normalizePaths, type TreeMeasure } from './tree-walker.js'

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

  constructor(readonly id: number, readonly paths: readonly string[]) {}

  status(): LoadJobStatus {
    return {
      id: this.id, paths: this.paths, state: this.state, files: this.files, bytes: this.bytes,
      filesDone: this.filesDone, bytesDone: this.bytesDone, filesLoading: this.filesLoading, failedFiles: this.failedFiles,
      ...(this.error !== undefined ? { error: this.error } : {}),
      startedAt: new Date(this.startedMs).toISOString(), elapsedMs: (this.finishedMs ?? Date.now()) - this.startedMs,
    }
  }
}

export class LoadJobs {
  readonly #config: LoadJobsConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #disk: DiskBlockCache
  readonly #log: Logger
  readonly #jobs: LoadJob[] = []
  #nextId = 1

  constructor(config: LoadJobsConfig, metadata: MetadataStore, reader: BlockReader, disk: DiskBlockCache, log: Logger) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#disk = disk
    this.#log = log
  }

  /** Starts a job in the background and returns its first status. */
  start(paths: readonly string[], concurrency: number): LoadJobStatus {
    const job = new LoadJob(this.#nextId++, normalizePaths(paths))
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
    this.#checkFits(job, m)
    job.files = m.files
    job.bytes = m.bytes
    job.state = 'loading'
    this.#log.info({ job: job.id, paths: job.paths, files: m.files, bytes: m.bytes }, 'load started')
    await forEachLimit(filesOf(this.#metadata, m), concurrency, async ({ path, entry }) => {
      job.filesLoading++
      try {
        await this.#reader.preload({ key: entry.key, etag: entry.etag, size: entry.size }, n => { job.bytesDone += n })
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
    throw new CacheCapacityError(`${job.paths.join(' ')} holds ${formatBytes(m.bytes)} in ${m.files} files: more than the cache can hold ` +
      `(--cache-size ${formatBytes(stats.maxBytes)}, ${formatBytes(pinned)} of it pinned, ${formatBytes(available)} available); nothing was loaded`)
  }

  #forgetOldJobs(): void {
    const finished = this.#jobs.filter(j => j.state === 'done' || j.state === 'failed')
    for (const j of finished.slice(0, Math.max(0, finished.length - this.#config.jobsKept))) this.#jobs.splice(this.#jobs.indexOf(j), 1)
  }
}
