/**
 * Cross-file prefetch: when opens spread over a directory tree — many distinct files
 * in any order, the shape of a shuffled epoch, or a sorted walk — the rest of that
 * tree is brought into the disk cache in the background, so the next files a data
 * loader opens are local hits instead of one store round trip each.
 *
 * - Detection: distinct files opened under a file's directory and under its parent
 *   (ImageNet's `train/<class>/<file>` spreads over `train`) within `windowMs`, counting
 *   only files not cached yet; at `distinctOpensToStart` the deepest such directory
 *   starts a job (a warm epoch starts none).
 * - A job walks the tree's listings (the metadata cache) and preloads each file not
 *   yet cached through the BlockReader: the same single-flight map and bounded
 *   FetchQueue as reads, at PRIORITY_PREFETCH, below every foreground read; a
 *   foreground read of a file the job has not reached yet fetches it itself, and the
 *   job then finds it cached (one GET, never two).
 * - Bounded: `filesInFlight` files at once; never evicts anything (it stops when the
 *   cache has no free room, so pinned and recently read data stay); skips files
 *   larger than `maxFileBytes` (their own read-ahead serves them); stops when no file
 *   under the tree was opened for `idleStopMs`.
 * - Visible: files and bytes prefetched, prefetch hits (opened files prefetch had
 *   brought), bytes prefetched not read (yet), jobs and files queued.
 */
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import type { BlockReader, ObjectVersion } from '../cache/block-reader.js'
import { PRIORITY_PREFETCH } from '../cache/fetch-queue.js'
import type { Entry } from '../metadata/entry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { isRoot, joinPath, parentOf } from '../metadata/paths.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { fnv1a32 } from '../util/fnv.js'

export interface ScanPrefetchConfig {
  /** Distinct files opened under one directory (within `windowMs`) that start a job; 0 turns prefetch off. */
  readonly distinctOpensToStart: number
  readonly windowMs: number
  /** A job stops when no file under its tree was opened for this long. */
  readonly idleStopMs: number
  readonly filesInFlight: number
  /** Files larger than this are left to their own read-ahead. */
  readonly maxFileBytes: number
}

export interface ScanPrefetchStats {
  readonly jobs: number
  readonly filesQueued: number
  readonly filesPrefetched: number
  readonly bytesPrefetched: number
  /** Files opened that prefetch had brought into the cache first, and their bytes. */
  readonly hits: number
  readonly hitBytes: number
  /** Prefetched bytes not (yet) opened. */
  readonly bytesNotRead: number
}

/** Free room the cache must keep: prefetch never makes it evict. */
export interface CacheRoom {
  freeBytes(): number
}

interface Counter {
  readonly files: Set<string>
  readonly sinceMs: number
}

interface Job {
  readonly root: string
  lastOpenMs: number
  stopped: boolean
  queued: number
}

/** Directories whose opens are being counted. */
const COUNTERS_KEPT = 1024
/** What a cached file costs beyond its bytes (block headers), counted generously. */
const BLOCK_OVERHEAD_BYTES = 4096
/**
 * Prefetched objects remembered for hit accounting, each by a 30-bit hash of its key and
 * ETag: a small integer costs ~100 B of heap an entry with the LRU's own slots, the key
 * string ~460 B (300,000 ImageNet-like keys, heap after a full GC); a 1.28 M-file epoch
 * had 278,000 entries waiting for their first open. Two objects with the same hash share
 * an entry (~460 pairs among a million): the hit count is that much approximate.
 */
const PREFETCHED_REMEMBERED = 1_000_000

export class ScanPrefetcher {
  readonly #config: ScanPrefetchConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #room: CacheRoom
  readonly #log: Logger
  readonly #now: () => number
  readonly #counters = new LRUCache<string, Counter>({ max: COUNTERS_KEPT })
  readonly #jobs = new Map<string, Job>()
  // By size, not `max`: lru-cache preallocates `max` slots (~20 MB for a million) at start.
  readonly #prefetched = new LRUCache<number, number>({ maxSize: PREFETCHED_REMEMBERED, sizeCalculation: () => 1 })
  #filesPrefetched = 0
  #bytesPrefetched = 0
  #hits = 0
  #hitBytes = 0
  /** Bytes of prefetches in flight, not yet counted by the cache: reserved against its free room. */
  #reserved = 0

  constructor(config: ScanPrefetchConfig, metadata: MetadataStore, reader: BlockReader, room: CacheRoom, log: Logger, now: () => number = Date.now) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#room = room
    this.#log = log
    this.#now = now
  }

  /** A file was opened for reading (a clean object version); `isCached` says whether reading it costs no GET (asked only when needed). */
  onOpen(path: string, version: ObjectVersion, isCached: () => boolean = () => this.#reader.isCached(version)): void {
    const id = prefetchedId(version)
    const bytes = this.#prefetched.get(id)
    if (bytes !== undefined) {
      this.#prefetched.delete(id)
      this.#hits++
      this.#hitBytes += bytes
    }
    if (this.#config.distinctOpensToStart <= 0) return
    const now = this.#now()
    const dir = parentOf(path)
    for (const job of this.#jobs.values()) {
      if (isUnder(dir, job.root)) {
        job.lastOpenMs = now
        return
      }
    }
    // Only opens that miss count: a warm epoch over a cached tree starts no job (walking
    // it would find nothing to do, at a cost per file on the event loop).
    if (isCached()) return
    const candidates = isRoot(dir) ? [dir] : [dir, parentOf(dir)]
    for (const d of candidates) {
      if (this.#count(d, path, now) >= this.#config.distinctOpensToStart) {
        this.#start(d, now)
        return
      }
    }
  }

  stats(): ScanPrefetchStats {
    let queued = 0
    for (const j of this.#jobs.values()) queued += j.queued
    return {
      jobs: this.#jobs.size,
      filesQueued: queued,
      filesPrefetched: this.#filesPrefetched,
      bytesPrefetched: this.#bytesPrefetched,
      hits: this.#hits,
      hitBytes: this.#hitBytes,
      bytesNotRead: Math.max(0, this.#bytesPrefetched - this.#hitBytes),
    }
  }

  /** Stops every job (at unmount). */
  stop(): void {
    for (const j of this.#jobs.values()) j.stopped = true
  }

  #count(dir: string, path: string, now: number): number {
    let c = this.#counters.get(dir)
    if (c === undefined || now - c.sinceMs > this.#config.windowMs) {
      c = { files: new Set(), sinceMs: now }
      this.#counters.set(dir, c)
    }
    if (c.files.size < this.#config.distinctOpensToStart) c.files.add(path)
    return c.files.size
  }

  #start(root: string, now: number): void {
    // A job for an ancestor covers this one; jobs under the new root are folded into it.
    for (const [r, j] of this.#jobs)
      if (isUnder(r, root)) {
        j.stopped = true
        this.#jobs.delete(r)
      }
    const job: Job = { root, lastOpenMs: now, stopped: false, queued: 0 }
    this.#jobs.set(root, job)
    this.#counters.clear()
    this.#log.info({ root }, 'opens spread over a directory tree: prefetching the rest of it')
    this.#run(job)
      .then(
        reason => this.#log.info({ root, reason, files: this.#filesPrefetched, bytes: this.#bytesPrefetched }, 'prefetch stopped'),
        (err: unknown) => this.#log.warn({ err, root }, 'prefetch failed'),
      )
      .finally(() => {
        if (this.#jobs.get(root) === job) this.#jobs.delete(root)
      })
  }

  async #run(job: Job): Promise<string> {
    let reason = 'done'
    const stopIf = (): boolean => {
      if (job.stopped) reason = 'superseded'
      else if (this.#now() - job.lastOpenMs > this.#config.idleStopMs) reason = 'reads stopped'
      else if (this.#room.freeBytes() - this.#reserved <= 0) reason = 'the cache has no free room'
      else return false
      job.stopped = true
      return true
    }
    const dirs = [job.root]
    while (dirs.length > 0 && !stopIf()) {
      const dir = dirs.shift() as string
      const listing = await this.#metadata.readdir(dir)
      const files: Array<{ path: string; entry: Entry & { kind: 'file' } }> = []
      for (const [name, entry] of listing.children) {
        if (entry.kind === 'dir') dirs.push(joinPath(dir, name))
        else if (entry.size <= this.#config.maxFileBytes) files.push({ path: joinPath(dir, name), entry })
      }
      job.queued += files.length
      await forEachLimit(files, this.#config.filesInFlight, async ({ entry }) => {
        job.queued--
        if (stopIf() || this.#room.freeBytes() - this.#reserved < entry.size + BLOCK_OVERHEAD_BYTES) return
        const version = { key: entry.key, etag: entry.etag, size: entry.size }
        this.#reserved += entry.size + BLOCK_OVERHEAD_BYTES
        const fetched = await this.#reader
          .prefetchWhole(version, PRIORITY_PREFETCH)
          .catch(() => 0)
          .finally(() => {
            this.#reserved -= entry.size + BLOCK_OVERHEAD_BYTES
          })
        if (fetched > 0) {
          this.#filesPrefetched++
          this.#bytesPrefetched += fetched
          this.#prefetched.set(prefetchedId(version), fetched)
        }
      })
      job.queued = 0
    }
    return reason
  }
}

function isUnder(path: string, root: string): boolean {
  return isRoot(root) || path === root || path.startsWith(root + '/')
}

/** An object version's entry in the prefetched set: a small integer (a V8 Smi), not a string. */
function prefetchedId(version: ObjectVersion): number {
  return fnv1a32(`${version.key}\0${version.etag}`) >>> 2
}
