import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import { syncDir } from '../util/sync-dir.js'
import { indexCrashPoint } from './disk/index-crash-points.js'
import type { ObjectVersion } from './object-version.js'

/**
 * Whole-object copies for the kernel's FUSE passthrough (`--passthrough SIZE`): one plain file
 * per object version, `<cache-dir>/whole/<objectId>`, holding exactly the object's bytes, which
 * the kernel reads itself for a handle opened with it as backing file (vendor/fuse-native/passthrough.h).
 *
 * A copy is made from the disk cache's blocks once all of them are on disk, every block's
 * checksums verified as it is read; written to `whole/tmp/`, fsynced, renamed into place and
 * the directory fsynced, so a copy under its final name is complete after any crash. The
 * copies are bounded by their own budget (least recently opened removed first), beside the
 * block cache's. A copy is used only while its object's blocks would be: it is removed when
 * an operator frees the object or one of its blocks expires, and never used past the earliest
 * expiry of the blocks it was made from. Reads through the kernel are not checked again: the
 * checksums are checked once, when the copy is made.
 */
export interface WholeObjectsConfig {
  /** `<cache-dir>/whole`. */
  readonly dir: string
  /** Bytes of copies kept. */
  readonly maxBytes: number
  /** Smaller objects get no copy (their reads are few and small; FUSE's own path is as fast). */
  readonly minObjectBytes: number
}

/** What a copy is made from: the block cache (BlockReader). */
export interface WholeObjectSource {
  objectId(obj: ObjectVersion): string
  /** Undefined unless every block of `obj` is on disk and fresh; else how long until the first expires. */
  onDiskFor(obj: ObjectVersion): number | undefined
  /** Reads block `index` of `obj` from disk, verified, into `target`; false if it is not there (or corrupt). */
  readBlockFromDisk(obj: ObjectVersion, index: number, target: Buffer): Promise<boolean>
  readonly blockSize: number
}

export interface WholeObjectsStats {
  readonly files: number
  readonly bytes: number
  readonly maxBytes: number
  /** Copies waiting to be made or being made. */
  readonly pending: number
  readonly made: number
  readonly failed: number
  readonly removed: number
}

interface Copy {
  readonly bytes: number
  /** Not used after this (ms since epoch; Infinity without TTLs). */
  readonly expiresAtMs: number
  /** Found at start: its blocks' expiry is not known until they are looked at. */
  readonly restored: boolean
}

const TMP = 'tmp'

export class WholeObjects {
  readonly #config: WholeObjectsConfig
  readonly #source: WholeObjectSource
  readonly #log: Logger
  readonly #copies: LRUCache<string, Copy>
  /** One copy made at a time: it reads the disk the readers use. */
  readonly #making = new PQueue({ concurrency: 1 })
  readonly #queued = new Set<string>()
  /** Of those, ones whose blocks were freed or expired since they were offered. */
  readonly #dropped = new Set<string>()
  #made = 0
  #failed = 0
  #removed = 0
  #closed = false

  constructor(config: WholeObjectsConfig, source: WholeObjectSource, log: Logger) {
    this.#config = config
    this.#source = source
    this.#log = log
    this.#copies = new LRUCache<string, Copy>({
      maxSize: Math.max(1, config.maxBytes),
      sizeCalculation: c => Math.max(1, c.bytes),
      dispose: (_copy, id, reason) => {
        if (reason === 'set') return // replaced by a copy under the same name
        this.#removed++
        unlink(this.pathOf(id)).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn({ err, id }, 'removing a whole-object copy failed')
        })
      },
    })
  }

  /** Takes in the copies a previous run left (newest last), removing unfinished ones. */
  async open(): Promise<void> {
    await rm(join(this.#config.dir, TMP), { recursive: true, force: true })
    await mkdir(join(this.#config.dir, TMP), { recursive: true })
    const found: { id: string; bytes: number; mtimeMs: number }[] = []
    for (const name of await readdir(this.#config.dir)) {
      if (name === TMP) continue
      const st = await stat(join(this.#config.dir, name)).catch(() => undefined)
      // A copy larger than the budget now (a smaller --passthrough than before) would never be kept.
      if (st?.isFile() === true && /^[0-9a-f]{40}$/.test(name) && st.size <= this.#config.maxBytes)
        found.push({ id: name, bytes: st.size, mtimeMs: st.mtimeMs })
      else await rm(join(this.#config.dir, name), { recursive: true, force: true })
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs)
    for (const f of found) this.#copies.set(f.id, { bytes: f.bytes, expiresAtMs: Infinity, restored: true })
  }

  pathOf(id: string): string {
    return join(this.#config.dir, id)
  }

  /** Where the copy of `obj` is or would be. */
  pathFor(obj: ObjectVersion): string {
    return this.pathOf(this.#source.objectId(obj))
  }

  /** Whether `obj` may have a copy at all (size between the minimum and the budget). */
  eligible(obj: ObjectVersion): boolean {
    return obj.size >= this.#config.minObjectBytes && obj.size <= this.#config.maxBytes
  }

  /**
   * The copy of `obj` a read-only open of it may hand to the kernel, or undefined (none, or
   * expired: then removed). Counts as a use. A copy restored from an earlier run is used only
   * while its blocks are on disk and fresh (their expiry is not recorded in the copy).
   */
  backingFor(obj: ObjectVersion): string | undefined {
    if (!this.eligible(obj)) return undefined
    const id = this.#source.objectId(obj)
    const copy = this.#copies.get(id)
    if (copy === undefined || copy.bytes !== obj.size) return undefined
    if (copy.restored) {
      const forMs = this.#source.onDiskFor(obj)
      if (forMs === undefined) return undefined
      this.#copies.set(id, { bytes: copy.bytes, expiresAtMs: Date.now() + forMs, restored: false })
    } else if (copy.expiresAtMs <= Date.now()) {
      this.#copies.delete(id)
      return undefined
    }
    return this.pathOf(id)
  }

  /** Makes a copy of `obj` in the background if it has none and all its blocks are on disk now. */
  offer(obj: ObjectVersion): void {
    if (this.#closed || !this.eligible(obj)) return
    const id = this.#source.objectId(obj)
    if (this.#copies.has(id) || this.#queued.has(id) || this.#source.onDiskFor(obj) === undefined) return
    this.#queued.add(id)
    this.#making
      .add(() => this.#make(obj, id))
      .catch((err: unknown) => {
        this.#failed++
        this.#log.warn({ err, key: obj.key }, 'making a whole-object copy failed')
      })
      .finally(() => {
        this.#queued.delete(id)
        this.#dropped.delete(id)
      })
  }

  /** The object's blocks were freed or expired: its copy goes too. */
  drop(id: string): void {
    this.#copies.delete(id)
    // One waiting or being made now is not kept.
    if (this.#queued.has(id)) this.#dropped.add(id)
  }

  /** Resolves once no copy is being made or waits to be. */
  async idle(): Promise<void> {
    await this.#making.onIdle()
  }

  stats(): WholeObjectsStats {
    return {
      files: this.#copies.size,
      bytes: this.#copies.calculatedSize,
      maxBytes: this.#config.maxBytes,
      pending: this.#queued.size,
      made: this.#made,
      failed: this.#failed,
      removed: this.#removed,
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#making.clear()
    await this.#making.onIdle()
  }

  async #make(obj: ObjectVersion, id: string): Promise<void> {
    const startedMs = Date.now()
    const t0 = performance.now()
    const forMs = this.#source.onDiskFor(obj)
    if (this.#closed || forMs === undefined || this.#copies.has(id) || this.#dropped.has(id)) return
    const tmp = join(this.#config.dir, TMP, `${id}.${process.pid}`)
    if (!(await this.#write(obj, tmp))) return
    try {
      await rename(tmp, this.pathOf(id))
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    // Freed or expired while it was made: the blocks it came from are gone, so is the copy.
    if (this.#dropped.has(id)) {
      await unlink(this.pathOf(id)).catch(() => {})
      return
    }
    await syncDir(this.#config.dir).catch((err: unknown) => this.#log.warn({ err }, 'fsync of the whole-object directory failed'))
    // Never used past the earliest expiry of the blocks it was made from, as seen when it started.
    this.#copies.set(id, { bytes: obj.size, expiresAtMs: startedMs + forMs, restored: false })
    this.#made++
    this.#log.info({ key: obj.key, bytes: obj.size, ms: Math.round(performance.now() - t0) }, 'made a whole-object copy')
  }

  /** Writes the object's bytes from its blocks to `tmp`, fsynced; false (and no file) if a block is gone meanwhile. */
  async #write(obj: ObjectVersion, tmp: string): Promise<boolean> {
    const fh = await open(tmp, 'w', 0o600)
    let complete = false
    try {
      const bs = this.#source.blockSize
      const buf = Buffer.allocUnsafeSlow(bs)
      for (let index = 0, offset = 0; offset < obj.size; index++, offset += bs) {
        const length = Math.min(bs, obj.size - offset)
        // A block gone meanwhile (evicted, freed, corrupt): no copy now; a later open offers again.
        if (this.#closed || !(await this.#source.readBlockFromDisk(obj, index, buf.subarray(0, length)))) return false
        // A short write (a disk filling up) goes on where it stopped; the next one fails with ENOSPC.
        for (let done = 0; done < length;) done += (await fh.write(buf, done, length - done, offset + done)).bytesWritten
        if (index === Math.floor(obj.size / bs / 2)) indexCrashPoint('whole-copy-half-written')
      }
      await fh.sync()
      complete = true
      indexCrashPoint('whole-copy-before-rename')
      return true
    } finally {
      await fh.close().catch(() => {})
      if (!complete) await unlink(tmp).catch(() => {})
    }
  }
}
