/**
 * `s3cachefs refresh PATH` and `--metadata-sync-interval`: pick up objects added,
 * changed or deleted in the bucket out of band before the metadata TTL would.
 *
 * A refresh forgets what the MetadataStore knows at or below the path and lists
 * again every directory whose listing was cached there (parents first, a few at
 * a time), so lookups keep being answered from listings, never one HEAD per
 * file. The periodic sync refreshes the whole mount; runs never overlap. What was
 * known is only expired, not dropped: if the store fails to answer the new
 * listings, stale-if-error keeps serving it and the refresh reports the failure.
 */
import type { Logger } from 'pino'
import { NotADirectoryError, NotFoundError, RemoteServerError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { isRoot, parentOf } from '../metadata/paths.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { normalizePaths } from './tree-walker.js'

export interface RefreshReport {
  readonly path: string
  /** Directories listed again, and the entries they hold now. */
  readonly directories: number
  readonly entries: number
}

export class MetadataRefresher {
  readonly #metadata: MetadataStore
  readonly #concurrency: number
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #syncing = false
  #syncs = 0

  constructor(metadata: MetadataStore, concurrency: number, log: Logger) {
    this.#metadata = metadata
    this.#concurrency = concurrency
    this.#log = log
  }

  async refresh(rawPath: string): Promise<RefreshReport> {
    const path = normalizePaths([rawPath])[0] as string
    let relist: string[]
    if (isRoot(path)) {
      relist = ['/', ...this.#metadata.invalidatePrefix('/', { keepStale: true })]
    } else {
      const entry = await this.#metadata.lookup(path).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined
        throw err
      })
      if (entry?.kind === 'dir') {
        relist = [path, ...this.#metadata.invalidatePrefix(path, { keepStale: true })]
      } else {
        // A file, or a name not known to exist: its parent's listing is what answers it.
        this.#metadata.invalidate(path)
        this.#metadata.invalidatePrefix(path)
        relist = [parentOf(path)]
      }
    }
    const dirs = [...new Set(relist)].sort((a, b) => depth(a) - depth(b))
    const staleBefore = this.#metadata.staleStats().staleAnswers
    let entries = 0
    await forEachLimit(dirs, this.#concurrency, async dir => {
      try {
        entries += (await this.#metadata.readdir(dir)).children.size
      } catch (err) {
        if (!(err instanceof NotFoundError || err instanceof NotADirectoryError)) throw err
      }
    })
    if (this.#metadata.staleStats().staleAnswers > staleBefore) {
      // The listings came from stale-if-error: nothing was refreshed, and the caller must know.
      throw new RemoteServerError(`refresh ${path}: the store is failing; what was known is served until it answers again`)
    }
    this.#log.debug({ path, directories: dirs.length, entries }, 'metadata refreshed')
    return { path, directories: dirs.length, entries }
  }

  /** Refreshes the whole mount every `intervalMs` (Infinity: never). */
  startPeriodic(intervalMs: number): void {
    if (!Number.isFinite(intervalMs)) return
    this.#timer = setInterval(() => {
      if (this.#syncing) return
      this.#syncing = true
      this.refresh('/')
        .then(
          () => {
            this.#syncs++
          },
          (err: unknown) => this.#log.warn({ err }, 'metadata sync failed'),
        )
        .finally(() => {
          this.#syncing = false
        })
    }, intervalMs).unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** Completed periodic syncs. */
  get syncs(): number {
    return this.#syncs
  }
}

function depth(path: string): number {
  return isRoot(path) ? 0 : path.split('/').length
}
