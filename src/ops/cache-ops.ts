/**
 * `s3cachefs pin`, `unpin`, `free` and `ttl`: turn mount paths into cache rules
 * (src/cache/cache-rules.ts) and apply them to what DiskBlockCache holds.
 *
 * A path is resolved through the MetadataStore, so a directory names every key
 * under its prefix and a file its one key. Pinning measures the tree (listings)
 * and refuses when pins would hold more than the cache size: pinned data is
 * never evicted, so it must always fit. Pins and TTLs persist with the cache.
 */
import type { Logger } from 'pino'
import type { DiskBlockCache } from '../cache/disk-block-cache.js'
import { covers, type PinRule, type RuleTarget } from '../cache/cache-rules.js'
import { formatBytes } from '../config/units.js'
import { CacheCapacityError, NotFoundError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { isRoot, pathToKey, pathToPrefix } from '../metadata/paths.js'
import { measureTree, normalizePaths } from './tree-walker.js'

export interface PinReport {
  readonly pinned: ReadonlyArray<{ path: string; bytes: number; files: number; cachedBytes: number; alreadyPinned: boolean }>
  /** What all pins of this mount may hold now, and what pinned data is on disk. */
  readonly pinnedBytes: number
  readonly cachedPinnedBytes: number
}

export interface UnpinReport {
  readonly unpinned: ReadonlyArray<{ path: string; bytes: number }>
  readonly notPinned: readonly string[]
}

export interface FreeReport {
  readonly bytes: number
  readonly blocks: number
  readonly files: number
  /** Cached bytes of pinned files under the paths, kept (without --force). */
  readonly pinnedKeptBytes: number
}

export interface TtlReport {
  readonly path: string
  readonly ttlMs: number | null
  /** Blocks dropped at once because they were already older than the new TTL. */
  readonly droppedBlocks: number
  readonly droppedBytes: number
}

export class CacheOps {
  readonly #metadata: MetadataStore
  readonly #disk: DiskBlockCache
  readonly #log: Logger
  readonly #listConcurrency: number

  constructor(metadata: MetadataStore, disk: DiskBlockCache, listConcurrency: number, log: Logger) {
    this.#metadata = metadata
    this.#disk = disk
    this.#listConcurrency = listConcurrency
    this.#log = log
  }

  async pin(paths: readonly string[]): Promise<PinReport> {
    const ns = this.#disk.namespaceId
    const planned: PinRule[] = []
    const report: Array<PinReport['pinned'][number]> = []
    for (const path of normalizePaths(paths)) {
      const target = await this.#target(path)
      const existing = this.#disk.rules.pins.find(p => covers(p, target))
      if (existing !== undefined) {
        report.push({ path, bytes: existing.bytes, files: existing.files, cachedBytes: this.#cachedBytes(target), alreadyPinned: true })
        continue
      }
      const m = await measureTree(this.#metadata, [path], this.#listConcurrency)
      planned.push({ ...target, bytes: m.bytes, files: m.files })
    }
    const kept = this.#disk.rules.pins.filter(p => p.ns === ns && !planned.some(n => covers(n, p)))
    const keptBytes = kept.reduce((s, p) => s + p.bytes, 0)
    const newBytes = planned.reduce((s, p) => s + p.bytes, 0)
    const max = this.#disk.stats().maxBytes
    if (keptBytes + newBytes > max) {
      throw new CacheCapacityError(
        `cannot pin ${planned.map(p => p.path).join(' ')}: ${formatBytes(newBytes)} in ` +
          `${planned.reduce((s, p) => s + p.files, 0)} files${keptBytes > 0 ? ` plus ${formatBytes(keptBytes)} already pinned` : ''} ` +
          `exceeds the cache size (--cache-size ${formatBytes(max)}); nothing was pinned`,
      )
    }
    for (const p of planned) await this.#disk.rules.addPin(p)
    this.#disk.applyRules()
    for (const p of planned) report.push({ path: p.path, bytes: p.bytes, files: p.files, cachedBytes: this.#cachedBytes(p), alreadyPinned: false })
    this.#log.info({ pinned: planned.map(p => p.path) }, 'pinned')
    return { pinned: report, pinnedBytes: keptBytes + newBytes, cachedPinnedBytes: this.#disk.stats().pinnedBytes }
  }

  async unpin(paths: readonly string[]): Promise<UnpinReport> {
    const unpinned: Array<{ path: string; bytes: number }> = []
    const notPinned: string[] = []
    for (const path of normalizePaths(paths)) {
      let removed: PinRule[] = []
      for (const target of await this.#targets(path)) removed = [...removed, ...(await this.#disk.rules.removePins(target))]
      if (removed.length === 0) notPinned.push(path)
      for (const r of removed) unpinned.push({ path: r.path, bytes: r.bytes })
    }
    this.#disk.applyRules()
    if (unpinned.length > 0) this.#log.info({ unpinned: unpinned.map(u => u.path) }, 'unpinned')
    return { unpinned, notPinned }
  }

  async free(paths: readonly string[], force: boolean): Promise<FreeReport> {
    let bytes = 0
    let blocks = 0
    let files = 0
    let pinnedKeptBytes = 0
    const seen = new Set<string>()
    for (const path of normalizePaths(paths)) {
      for (const target of await this.#targets(path)) {
        for (const obj of this.#disk.objectsUnder(target)) {
          if (seen.has(obj.id)) continue
          seen.add(obj.id)
          if (obj.pinned && !force) {
            pinnedKeptBytes += obj.bytes
            continue
          }
          blocks += obj.blockCount
          files++
          bytes += this.#disk.dropObject(obj, 'freed')
        }
      }
    }
    this.#log.info({ paths, bytes, blocks, files, pinnedKeptBytes }, 'freed cached data')
    return { bytes, blocks, files, pinnedKeptBytes }
  }

  async setTtl(path: string, ttlMs: number | null): Promise<TtlReport> {
    const [clean] = normalizePaths([path])
    const target = await this.#target(clean as string)
    await this.#disk.rules.setTtl({ ...target, ttlMs })
    const dropped = await this.#disk.sweepExpired()
    return { path: target.path, ttlMs, droppedBlocks: dropped.blocks, droppedBytes: dropped.bytes }
  }

  /** The pins of this mount, for `stats`. */
  pins(): Array<{ path: string; bytes: number; files: number }> {
    const ns = this.#disk.namespaceId
    return this.#disk.rules.pins.filter(p => p.ns === ns).map(p => ({ path: p.path, bytes: p.bytes, files: p.files }))
  }

  /** What a path names: the directory's key prefix or the file's key. */
  async #target(path: string): Promise<RuleTarget> {
    const ns = this.#disk.namespaceId
    if (isRoot(path)) return { ns, key: '', dir: true, path: '/' }
    const entry = await this.#metadata.lookup(path)
    return entry.kind === 'dir' ? { ns, key: entry.prefix, dir: true, path } : { ns, key: entry.key, dir: false, path }
  }

  /** Like #target, but a path gone from the bucket still names what was cached under it (as file and as directory). */
  async #targets(path: string): Promise<RuleTarget[]> {
    try {
      return [await this.#target(path)]
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
      const ns = this.#disk.namespaceId
      return [
        { ns, key: pathToKey(path), dir: false, path },
        { ns, key: pathToPrefix(path), dir: true, path },
      ]
    }
  }

  #cachedBytes(target: RuleTarget): number {
    return this.#disk.objectsUnder(target).reduce((s, o) => s + o.bytes, 0)
  }
}
