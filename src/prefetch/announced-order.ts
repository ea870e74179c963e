/**
 * Announced order: a reader (the PyTorch sampler wrapper, a DALI file list, a
 * manifest) tells the mount the files it will read, in order (`s3cachefs prefetch
 * --list`). The daemon keeps a window ahead of the reader — up to `windowFiles`
 * files and `windowBytes` bytes not yet read — fetching them through the same
 * in-flight map and queue as reads, at PRIORITY_LOAD (above scan prefetch, below
 * foreground reads).
 *
 * The reader is a few cursors, not one position: a DataLoader's W workers each read
 * their own batch of the announced order at once (files 0, 256, 512, 768, 1, 257, …),
 * so an open within CURSOR_REACH files after a cursor moves that cursor, and any other
 * open starts a new one (the least recently moved of MAX_CURSORS retires). The window
 * is shared: the nearest files of every cursor are fetched first. Files a cursor moved past without opening are
 * skipped: dropped from the window, never fetched.
 * Each announcer (a session: the announcing process, e.g. one training rank) has
 * its own order; its new announcement replaces its old one (an epoch's order).
 * AnnouncedOrders keeps the few most recent sessions of a mount.
 */
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import { PRIORITY_LOAD } from '../cache/fetch-queue.js'
import { CacheCapacityError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'

export interface AnnouncedOrderConfig {
  readonly windowFiles: number
  readonly windowBytes: number
  /** Files fetched at once for the window. */
  readonly concurrency: number
  /** Most paths one announcement may hold (memory: ~150 B each). */
  readonly maxPaths: number
}

/**
 * An open at most this many files after a cursor moves it (a reader that skips a few);
 * farther starts a new cursor. Small: another worker's batch may start just past it.
 */
const CURSOR_REACH = 8
/** Readers of one order followed at once (DataLoader workers × prefetch factor, with room). */
const MAX_CURSORS = 32

export interface AnnouncedOrderStats {
  readonly files: number
  /** Announced files opened so far. */
  readonly position: number
  readonly prefetched: number
  readonly bytesPrefetched: number
  /** Announced files opened after the window had fetched them or started to (the reader joined that GET). */
  readonly hits: number
  /** Announced files the reader moved past without opening (dropped from the window). */
  readonly skipped: number
}

export class AnnouncedOrder {
  readonly #config: AnnouncedOrderConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #log: Logger
  #paths: string[] = []
  #index = new Map<string, number>()
  #windowFiles: number
  #windowBytes: number
  /** Next index each cursor expects, most recently moved last. */
  #cursors: number[] = []
  /** Indexes opened (1) or skipped (2) in this order. */
  #done = new Uint8Array(0)
  #opened = 0
  #inFlight = 0
  /** Started (or done) and not yet read: index → bytes. */
  #ahead = new Map<number, number>()
  #aheadBytes = 0
  #generation = 0
  #prefetched = 0
  #bytesPrefetched = 0
  #hits = 0
  #skipped = 0

  constructor(config: AnnouncedOrderConfig, metadata: MetadataStore, reader: BlockReader, log: Logger) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#log = log
    this.#windowFiles = config.windowFiles
    this.#windowBytes = config.windowBytes
  }

  /** Starts a new order (or, with `append`, extends the current one); returns what it holds and its window. */
  announce(
    paths: readonly string[],
    append: boolean,
    window: { files?: number; bytes?: number } = {},
  ): { files: number; windowFiles: number; windowBytes: number } {
    if (!append) {
      this.#generation++
      this.#paths = []
      this.#index = new Map()
      this.#cursors = []
      this.#opened = this.#aheadBytes = 0
      this.#ahead = new Map()
      this.#windowFiles = window.files ?? this.#config.windowFiles
      this.#windowBytes = window.bytes ?? this.#config.windowBytes
    }
    if (this.#paths.length + paths.length > this.#config.maxPaths) {
      throw new CacheCapacityError(`an announced order holds at most ${this.#config.maxPaths} paths; announce an epoch in parts`)
    }
    for (const p of paths) {
      if (!this.#index.has(p)) this.#index.set(p, this.#paths.length)
      this.#paths.push(p)
    }
    const done = new Uint8Array(this.#paths.length)
    if (append) done.set(this.#done)
    this.#done = done
    if (this.#cursors.length === 0) this.#cursors.push(0)
    if (!append) this.#log.info({ files: paths.length, windowFiles: this.#windowFiles, windowBytes: this.#windowBytes }, 'following an announced order')
    this.#pump()
    return { files: this.#paths.length, windowFiles: this.#windowFiles, windowBytes: this.#windowBytes }
  }

  /** A file was opened for reading: the cursor just before it moves there (or a new cursor starts). */
  onOpen(path: string): void {
    const i = this.#index.get(path)
    if (i === undefined || this.#done[i] === 1) return
    if (this.#ahead.has(i)) this.#hits++
    this.#settle(i, 1)
    this.#opened++
    const c = this.#cursors.findIndex(p => p <= i && i <= p + CURSOR_REACH)
    if (c >= 0) {
      for (let k = this.#cursors[c] as number; k < i; k++)
        if (this.#done[k] === 0) {
          this.#skipped++
          this.#settle(k, 2)
        }
      this.#cursors.splice(c, 1)
    } else if (this.#cursors.length >= MAX_CURSORS) {
      this.#retire(this.#cursors.shift() as number)
    }
    this.#cursors.push(i + 1)
    this.#pump()
  }

  /** Whether the reader has files of the order still to open (neither opened nor skipped). */
  get following(): boolean {
    return this.#opened + this.#skipped < this.#paths.length
  }

  stats(): AnnouncedOrderStats {
    return {
      files: this.#paths.length,
      position: this.#opened,
      prefetched: this.#prefetched,
      bytesPrefetched: this.#bytesPrefetched,
      hits: this.#hits,
      skipped: this.#skipped,
    }
  }

  /** Marks index `k` opened or skipped: no longer ahead of the reader. */
  #settle(k: number, how: 1 | 2): void {
    this.#done[k] = how
    this.#aheadBytes -= this.#ahead.get(k) ?? 0
    this.#ahead.delete(k)
  }

  /** A cursor no reader moves any more: what it fetched ahead stops counting against the window. */
  #retire(from: number): void {
    for (let k = from; k < Math.min(this.#paths.length, from + this.#windowFiles); k++) {
      this.#aheadBytes -= this.#ahead.get(k) ?? 0
      this.#ahead.delete(k)
    }
  }

  /**
   * Starts fetches for the window: the nearest files of every cursor first (depth 0 of
   * each cursor, then depth 1, …), so W workers reading at once each have files ahead.
   */
  #pump(): void {
    const depth = Math.max(1, Math.floor(this.#windowFiles / Math.max(1, this.#cursors.length)))
    for (let d = 0; d < depth; d++) {
      for (let c = this.#cursors.length - 1; c >= 0; c--) {
        const i = (this.#cursors[c] as number) + d
        if (this.#inFlight >= this.#config.concurrency || this.#ahead.size >= this.#windowFiles || this.#aheadBytes >= this.#windowBytes) return
        if (i >= this.#paths.length || this.#done[i] !== 0 || this.#ahead.has(i)) continue
        this.#inFlight++
        this.#ahead.set(i, 0)
        this.#fetch(i, this.#generation)
          .catch((err: unknown) => this.#log.debug({ err, path: this.#paths[i] }, 'announced prefetch failed'))
          .finally(() => {
            this.#inFlight--
            this.#pump()
          })
      }
    }
  }

  async #fetch(i: number, generation: number): Promise<void> {
    const path = this.#paths[i] as string
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'file' || generation !== this.#generation || this.#done[i] !== 0) return
    if (this.#ahead.has(i)) {
      this.#ahead.set(i, entry.size)
      this.#aheadBytes += entry.size
    }
    const bytes = await this.#reader.prefetchWhole({ key: entry.key, etag: entry.etag, size: entry.size }, PRIORITY_LOAD)
    if (generation !== this.#generation) return
    if (bytes > 0) {
      this.#prefetched++
      this.#bytesPrefetched += bytes
    }
  }
}

/** The announced orders of one mount, by session (most recent `maxSessions` kept). */
export class AnnouncedOrders {
  readonly #make: () => AnnouncedOrder
  readonly #sessions = new Map<string, AnnouncedOrder>()
  readonly #maxSessions: number
  /** Told of each announcement, before its first prefetch. */
  onAnnounce: () => void = () => {}

  constructor(make: () => AnnouncedOrder, maxSessions: number) {
    this.#make = make
    this.#maxSessions = maxSessions
  }

  announce(
    session: string,
    paths: readonly string[],
    append: boolean,
    window: { files?: number; bytes?: number } = {},
  ): { files: number; windowFiles: number; windowBytes: number } {
    let order = this.#sessions.get(session)
    if (order === undefined) {
      order = this.#make()
      if (this.#sessions.size >= this.#maxSessions) this.#sessions.delete(this.#sessions.keys().next().value as string)
    }
    this.#sessions.delete(session)
    this.#sessions.set(session, order) // most recent last
    this.onAnnounce()
    return order.announce(paths, append, window)
  }

  onOpen(path: string): void {
    for (const order of this.#sessions.values()) order.onOpen(path)
  }

  /** Whether some order's reader still has files to open: its opens must be heard as they happen. */
  get following(): boolean {
    for (const order of this.#sessions.values()) if (order.following) return true
    return false
  }

  stats(): AnnouncedOrderStats & { readonly sessions: number } {
    const all = [...this.#sessions.values()].map(o => o.stats())
    const sum = (f: (s: AnnouncedOrderStats) => number) => all.reduce((n, s) => n + f(s), 0)
    return {
      sessions: all.length,
      files: sum(s => s.files),
      position: sum(s => s.position),
      prefetched: sum(s => s.prefetched),
      bytesPrefetched: sum(s => s.bytesPrefetched),
      hits: sum(s => s.hits),
      skipped: sum(s => s.skipped),
    }
  }
}
