/**
 * The persistent block cache on a local directory.
 *
 * Layout under `cacheDir`:
 *   blocks/<aa>/<objectId>.<blockIndex>   one file per block (see block-file-format.ts)
 *   tmp/                                   blocks being written (write, then rename)
 *   lock                                   pid of the daemon using this directory
 * `objectId` hashes (namespace, key, ETag, block size), so a changed object never
 * matches old blocks, and blocks survive unmounts, restarts and reboots.
 *
 * Bounded by `maxBytes` with LRU eviction over an in-memory index. The index is
 * rebuilt at start by scanning the directory (oldest mtime first), in the
 * background: reads never wait for it. A read error or a corrupt block is a miss,
 * logged, never an error for the reader.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { CacheCorruptError } from '../errors.js'
import { BLOCK_HEADER_BYTES, decodeBlock, encodeBlock } from './block-file-format.js'

export interface DiskCacheConfig {
  readonly dir: string
  readonly maxBytes: number
  /** Block writes allowed in flight; more are dropped (the data stays readable from S3). */
  readonly maxPendingWrites: number
}

export interface BlockAddress {
  readonly objectId: string
  readonly index: number
}

export interface DiskCacheStats {
  readonly usedBytes: number
  readonly maxBytes: number
  readonly blocks: number
  readonly corruptBlocks: number
  readonly writeErrors: number
  readonly droppedWrites: number
  readonly evictedBlocks: number
  readonly indexReady: boolean
}

/** Stable id of one version of one object, as cached. */
export function objectIdOf(namespace: string, key: string, etag: string, blockSize: number): string {
  return createHash('sha256').update(`${namespace}\0${key}\0${etag}\0${blockSize}`).digest('hex').slice(0, 40)
}

export class DiskBlockCache {
  readonly #config: DiskCacheConfig
  readonly #log: Logger
  /** Relative block path → file bytes, in recency order (first = least recent). */
  #index = new Map<string, number>()
  #usedBytes = 0
  #maxBytes: number
  #pendingWrites = 0
  #indexReady = false
  #corrupt = 0
  #writeErrors = 0
  #dropped = 0
  #evicted = 0

  private constructor(config: DiskCacheConfig, log: Logger) {
    this.#config = config
    this.#maxBytes = config.maxBytes
    this.#log = log
  }

  /** Prepares the directories and starts rebuilding the index in the background. */
  static async open(config: DiskCacheConfig, log: Logger): Promise<DiskBlockCache> {
    const cache = new DiskBlockCache(config, log)
    await mkdir(join(config.dir, 'blocks'), { recursive: true })
    await rm(join(config.dir, 'tmp'), { recursive: true, force: true })
    await mkdir(join(config.dir, 'tmp'), { recursive: true })
    cache.#scan().catch((err: unknown) => log.error({ err }, 'cache index scan failed'))
    return cache
  }

  /** The block's data, or undefined on a miss (absent, unreadable or corrupt). */
  async read(addr: BlockAddress, expectedLength: number): Promise<Buffer | undefined> {
    const rel = relPath(addr)
    let file: Buffer
    try {
      file = await readFile(join(this.#config.dir, rel))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn({ err, block: rel }, 'cache read failed; treating as a miss')
      this.#forget(rel)
      return undefined
    }
    try {
      const data = decodeBlock(file, expectedLength)
      this.#touch(rel, file.length)
      return data
    } catch (err) {
      if (!(err instanceof CacheCorruptError)) throw err
      this.#corrupt++
      this.#log.warn({ block: rel, reason: err.message }, 'corrupt cache block dropped; refetching')
      this.#forget(rel)
      unlink(join(this.#config.dir, rel)).catch(() => {})
      return undefined
    }
  }

  /** Stores a block in the background; never fails the caller. */
  write(addr: BlockAddress, data: Buffer): void {
    if (this.#pendingWrites >= this.#config.maxPendingWrites || data.length + BLOCK_HEADER_BYTES > this.#maxBytes) {
      this.#dropped++
      return
    }
    this.#pendingWrites++
    this.#writeFile(relPath(addr), data)
      .catch((err: unknown) => this.#onWriteError(err))
      .finally(() => { this.#pendingWrites-- })
  }

  stats(): DiskCacheStats {
    return {
      usedBytes: this.#usedBytes, maxBytes: this.#maxBytes, blocks: this.#index.size,
      corruptBlocks: this.#corrupt, writeErrors: this.#writeErrors, droppedWrites: this.#dropped,
      evictedBlocks: this.#evicted, indexReady: this.#indexReady,
    }
  }

  /** Resolves once pending block writes have finished (used at shutdown and by tests). */
  async drain(): Promise<void> {
    while (this.#pendingWrites > 0) await new Promise(r => setTimeout(r, 5))
  }

  async #writeFile(rel: string, data: Buffer): Promise<void> {
    const encoded = encodeBlock(data)
    const tmp = join(this.#config.dir, 'tmp', randomBytes(8).toString('hex'))
    const dest = join(this.#config.dir, rel)
    await writeFile(tmp, encoded)
    try {
      await rename(tmp, dest)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(tmp, dest)
    }
    this.#touch(rel, encoded.length)
    this.#evictIfNeeded()
  }

  #onWriteError(err: unknown): void {
    this.#writeErrors++
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // The disk is fuller than --cache-size assumed: shrink the bound to what fits.
      const shrunk = Math.floor(this.#usedBytes * 0.9)
      if (shrunk < this.#maxBytes) {
        this.#log.warn({ usedBytes: this.#usedBytes, newMaxBytes: shrunk }, 'cache disk full; lowering the cache size bound')
        this.#maxBytes = shrunk
        this.#evictIfNeeded()
      }
      return
    }
    if (this.#writeErrors <= 10) this.#log.warn({ err }, 'cache block write failed')
  }

  #touch(rel: string, bytes: number): void {
    const old = this.#index.get(rel)
    if (old !== undefined) this.#index.delete(rel)
    this.#index.set(rel, bytes)
    this.#usedBytes += bytes - (old ?? 0)
  }

  #forget(rel: string): void {
    const old = this.#index.get(rel)
    if (old === undefined) return
    this.#index.delete(rel)
    this.#usedBytes -= old
  }

  #evictIfNeeded(): void {
    for (const [rel, bytes] of this.#index) {
      if (this.#usedBytes <= this.#maxBytes) break
      this.#index.delete(rel)
      this.#usedBytes -= bytes
      this.#evicted++
      unlink(join(this.#config.dir, rel)).catch(() => {})
    }
  }

  /** Rebuilds the index from the directory: oldest files first, so they are evicted first. */
  async #scan(): Promise<void> {
    const blocksDir = join(this.#config.dir, 'blocks')
    const found: Array<{ rel: string; bytes: number; mtimeMs: number }> = []
    for (const sub of await readdir(blocksDir)) {
      const names = await readdir(join(blocksDir, sub)).catch(() => [] as string[])
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map(async name => {
          const rel = join('blocks', sub, name)
          const st = await stat(join(this.#config.dir, rel)).catch(() => undefined)
          if (st?.isFile()) found.push({ rel, bytes: st.size, mtimeMs: st.mtimeMs })
        }))
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs)
    // Blocks touched while scanning are the most recent: keep them at the end.
    const rebuilt = new Map<string, number>()
    let used = 0
    for (const f of found) if (!this.#index.has(f.rel)) { rebuilt.set(f.rel, f.bytes); used += f.bytes }
    for (const [rel, bytes] of this.#index) { rebuilt.set(rel, bytes); used += bytes }
    this.#index = rebuilt
    this.#usedBytes = used
    this.#indexReady = true
    this.#log.info({ blocks: rebuilt.size, usedBytes: used }, 'cache index ready')
    this.#evictIfNeeded()
  }
}

function relPath(addr: BlockAddress): string {
  return join('blocks', addr.objectId.slice(0, 2), `${addr.objectId}.${addr.index}`)
}
