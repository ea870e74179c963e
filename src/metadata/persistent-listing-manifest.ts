/**
 * The local listing manifest: complete directory listings kept in an append-only file
 * beside the block cache (`<cache-dir>/listings/<h(source)>.log`), so a remount of an
 * immutable dataset walks its tree without listing the bucket again, and a remount with
 * a finite TTL lists again only the directories whose listings expired, one by one as
 * they are visited. MetadataStore reads it before LIST pages and writes every complete
 * listing to it (the same `ListingManifest` contract as the Redis one, see
 * tiered-listing-manifest.ts for the two together).
 *
 * File format, one record per line (JSON never contains a raw tab or newline):
 *   listing: `{"p":path,"t":listedAtMs,"x":expiresAtMs|null,"n":bodyBytes,"c":crc32}` TAB body LF
 *            where body is the JSON array of `EntryRow`s;
 *   removal: `{"p":path,"d":1}` LF.
 * The last record of a path wins. At open the file is scanned reading headers only (the
 * body length is in the header, so bodies are skipped, never parsed); a torn or garbled
 * tail (a crash mid-append) is cut off. A body is read, CRC-checked and parsed on `get`.
 *
 * INVARIANT: memory holds one small index entry per directory (offset, length, expiry),
 * never the children: the listings themselves live in MetadataStore's caches only.
 * Bounds: `maxBytes` of live records and `maxDirectories` index entries (the oldest
 * written go first); the file is compacted (live records copied to a temp file, renamed
 * over) when dead records outweigh live ones. Failures are misses or writes not made,
 * logged once at warn: the manifest is a cache and never fails a lookup.
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { decodeListing, encodeListing, LF, parseHeader, TAB } from './listing-record.js'
import type { ListingManifest, SharedListing } from './listing-manifest.js'
import type { Clock } from './ttl-cache.js'

export interface PersistentManifestConfig {
  /** Folder of the manifest files (one per source). */
  readonly dir: string
  /** The source (endpoint, bucket, prefix): listings are kept per source. */
  readonly source: string
  /** Bound on the bytes of live records; the oldest go first. */
  readonly maxBytes: number
  /** Bound on the directories kept (one index entry of ~150 B each in memory). */
  readonly maxDirectories: number
}

export interface PersistentManifestStats {
  readonly hits: number
  readonly misses: number
  readonly puts: number
  readonly directories: number
  readonly liveBytes: number
  readonly fileBytes: number
  readonly compactions: number
}

interface Slot {
  readonly offset: number
  readonly length: number
  /** Wall-clock expiry; Infinity when written with an indefinite TTL. */
  readonly expiresAtMs: number
}

/** Headers are read in windows of this size at open; a header longer than it (a path near 4 KiB) still fits. */
const SCAN_WINDOW_BYTES = 256 * 1024
/** Dead bytes below this never trigger a compaction: rewriting a small file buys nothing. */
const COMPACT_MIN_DEAD_BYTES = 4 * 1024 * 1024

export class PersistentListingManifest implements ListingManifest {
  readonly #config: PersistentManifestConfig
  readonly #clock: Clock
  readonly #log: Logger
  readonly #path: string
  /** INVARIANT: insertion order is write order, so the first key is the oldest record. */
  readonly #index = new Map<string, Slot>()
  #fh: FileHandle
  #fileBytes: number
  #liveBytes = 0
  /** Appends, removals and compactions run one at a time, in order. */
  #tail: Promise<void> = Promise.resolve()
  #closed = false
  #warned = false
  #hits = 0
  #misses = 0
  #puts = 0
  #compactions = 0

  private constructor(config: PersistentManifestConfig, clock: Clock, log: Logger, path: string, fh: FileHandle, size: number) {
    this.#config = config
    this.#clock = clock
    this.#log = log
    this.#path = path
    this.#fh = fh
    this.#fileBytes = size
  }

  /** Opens (or creates) the manifest of `config.source`, scanning its headers; compacts it if mostly dead. */
  static async open(config: PersistentManifestConfig, clock: Clock, log: Logger): Promise<PersistentListingManifest> {
    await mkdir(config.dir, { recursive: true })
    const path = join(config.dir, `${createHash('sha256').update(config.source).digest('hex').slice(0, 32)}.log`)
    const fh = await open(path, 'a+', 0o600)
    const size = (await fh.stat()).size
    const manifest = new PersistentListingManifest(config, clock, log, path, fh, size)
    await manifest.#scan()
    if (manifest.#shouldCompact(0)) await manifest.#compact()
    return manifest
  }

  async get(path: string): Promise<SharedListing | undefined> {
    const slot = this.#index.get(path)
    if (slot === undefined || this.#closed) return this.#miss()
    if (slot.expiresAtMs <= this.#clock()) {
      this.#drop(path, slot)
      return this.#miss()
    }
    try {
      const record = Buffer.allocUnsafe(slot.length)
      const fh = this.#fh
      const { bytesRead } = await fh.read(record, 0, slot.length, slot.offset)
      const listing = bytesRead === slot.length ? decodeListing(record, path) : undefined
      if (listing === undefined) throw new Error('record does not match its header')
      this.#hits++
      return listing
    } catch (err) {
      // Unreadable (or replaced under us by a compaction): a miss; a later put rewrites it.
      if (this.#index.get(path) === slot) this.#drop(path, slot)
      this.#warnOnce(err, 'listing manifest record unreadable; listing the directory')
      return this.#miss()
    }
  }

  put(path: string, listing: SharedListing, ttlMs: number): void {
    if (this.#closed || !(ttlMs > 0)) return
    const record = encodeListing(path, listing, listing.listedAtMs + ttlMs)
    if (record.length > this.#config.maxBytes / 4) return
    this.#puts++
    this.#enqueue(async () => {
      const offset = this.#fileBytes
      await this.#append(record)
      const old = this.#index.get(path)
      if (old !== undefined) this.#drop(path, old)
      this.#index.set(path, { offset, length: record.length, expiresAtMs: listing.listedAtMs + ttlMs })
      this.#liveBytes += record.length
      this.#enforceBounds()
      if (this.#shouldCompact(COMPACT_MIN_DEAD_BYTES)) await this.#compact()
    })
  }

  forget(paths: readonly string[]): void {
    if (this.#closed) return
    const unique = [...new Set(paths)]
    // Out of the index at once (a get right after a write through the mount must miss), and
    // again in turn, after the puts queued before this call; on disk only what was there.
    const dropped = new Set(unique.filter(p => this.#dropIfPresent(p)))
    this.#enqueue(async () => {
      for (const p of unique) if (this.#dropIfPresent(p)) dropped.add(p)
      if (dropped.size > 0) await this.#append(Buffer.from([...dropped].map(p => JSON.stringify({ p, d: 1 }) + '\n').join('')))
    })
  }

  stats(): PersistentManifestStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      puts: this.#puts,
      directories: this.#index.size,
      liveBytes: this.#liveBytes,
      fileBytes: this.#fileBytes,
      compactions: this.#compactions,
    }
  }

  /** Waits for pending writes and closes the file; later calls are misses and no-ops. */
  async close(): Promise<void> {
    if (this.#closed) return
    await this.#tail
    this.#closed = true
    await this.#fh.close()
  }

  #miss(): undefined {
    this.#misses++
    return undefined
  }

  #dropIfPresent(path: string): boolean {
    const slot = this.#index.get(path)
    if (slot !== undefined) this.#drop(path, slot)
    return slot !== undefined
  }

  #drop(path: string, slot: Slot): void {
    this.#index.delete(path)
    this.#liveBytes -= slot.length
  }

  #enqueue(work: () => Promise<void>): void {
    this.#tail = this.#tail
      .then(() => (this.#closed ? undefined : work()))
      .catch((err: unknown) => this.#warnOnce(err, 'listing manifest write failed; listings of this mount may be listed again at the next mount'))
  }

  async #append(bytes: Buffer): Promise<void> {
    // O_APPEND: the position is ignored; our count of the size is the record's offset.
    let done = 0
    while (done < bytes.length) done += (await this.#fh.write(bytes, done, bytes.length - done)).bytesWritten
    this.#fileBytes += bytes.length
  }

  #enforceBounds(): void {
    for (const [path, slot] of this.#index) {
      if (this.#index.size <= this.#config.maxDirectories && this.#liveBytes <= this.#config.maxBytes) return
      this.#drop(path, slot)
    }
  }

  #shouldCompact(minDeadBytes: number): boolean {
    const dead = this.#fileBytes - this.#liveBytes
    return dead > minDeadBytes && dead > this.#liveBytes
  }

  /** Reads every header once; builds the index; cuts off a torn tail. */
  async #scan(): Promise<void> {
    let window = Buffer.alloc(0)
    let windowStart = 0
    let pos = 0
    const now = this.#clock()
    while (pos < this.#fileBytes) {
      if (pos < windowStart || pos >= windowStart + window.length || window.indexOf(LF, pos - windowStart) < 0) {
        window = Buffer.allocUnsafe(Math.min(SCAN_WINDOW_BYTES, this.#fileBytes - pos))
        const { bytesRead } = await this.#fh.read(window, 0, window.length, pos)
        window = window.subarray(0, bytesRead)
        windowStart = pos
      }
      const at = pos - windowStart
      const lf = window.indexOf(LF, at)
      const tab = window.indexOf(TAB, at)
      const end = tab >= 0 && (lf < 0 || tab < lf) ? tab : lf
      const header = end < 0 ? undefined : parseHeader(window.subarray(at, end))
      if (header === undefined) break
      const length = header.d === 1 ? end - at + 1 : end - at + 1 + (header.n ?? 0) + 1
      if (header.d !== 1 && (header.n === undefined || pos + length > this.#fileBytes)) break
      const old = this.#index.get(header.p)
      if (old !== undefined) this.#drop(header.p, old)
      const expiresAtMs = header.x ?? Infinity
      if (header.d !== 1 && expiresAtMs > now) {
        this.#index.set(header.p, { offset: pos, length, expiresAtMs })
        this.#liveBytes += length
      }
      pos += length
    }
    if (pos < this.#fileBytes) {
      this.#log.warn({ file: this.#path, validBytes: pos, fileBytes: this.#fileBytes }, 'listing manifest has a torn or garbled tail; cutting it off')
      await this.#fh.truncate(pos)
      this.#fileBytes = pos
    }
    this.#enforceBounds()
  }

  /** Copies the live records, in order, into a new file and renames it over the old one. */
  async #compact(): Promise<void> {
    const temp = `${this.#path}.compact`
    const out = await open(temp, 'w', 0o600)
    const moved = new Map<string, Slot>()
    let offset = 0
    try {
      for (const [path, slot] of this.#index) {
        const record = Buffer.allocUnsafe(slot.length)
        const { bytesRead } = await this.#fh.read(record, 0, slot.length, slot.offset)
        if (bytesRead !== slot.length) continue
        await out.write(record, 0, record.length)
        moved.set(path, { ...slot, offset })
        offset += record.length
      }
      await out.close()
      await rename(temp, this.#path)
    } catch (err) {
      await out.close().catch(() => {})
      await rm(temp, { force: true })
      throw err
    }
    const old = this.#fh
    this.#fh = await open(this.#path, 'a+', 0o600)
    this.#index.clear()
    for (const [path, slot] of moved) this.#index.set(path, slot)
    this.#liveBytes = offset
    this.#fileBytes = offset
    this.#compactions++
    // A get reading the old file now reads a closed handle: a miss, by design.
    await old.close()
  }

  #warnOnce(err: unknown, msg: string): void {
    if (this.#warned) return this.#log.debug({ err }, msg)
    this.#warned = true
    this.#log.warn({ err, file: this.#path }, msg)
  }
}
