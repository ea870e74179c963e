/**
 * Clean cached files whose getattr (the kernel's LOOKUP) and read-only open the FUSE
 * binding answers on its own threads (vendor/fuse-native/known-files.h), without a hand-off
 * to the event loop: on a warm epoch over small files those two hand-offs per file were
 * most of the daemon's cost (docs/ARCHITECTURE.md, "Warm opens answered by the binding").
 *
 * The core publishes a path when it answers its getattr from the caches (`publish`), for as
 * long as the metadata cache holds that answer; with the object's block files' prefix when
 * every block is on disk, so that an open for reading is answered too, with a handle the
 * binding registers for direct reads. The mirror must never outlive the core's own answer:
 * every change of the metadata caches (MetadataChangeListener) and every path that may
 * become busy with staged writes forgets what it touched, synchronously, before the change
 * is visible to anyone.
 */
import type { MetadataChangeListener } from '../metadata/metadata-store.js'
import { S_IFREG } from '../metadata/s3fs-attributes.js'
import { isType, type FileStat } from './file-stat.js'

/** The binding's table (index.js: Fuse.knownFile*). */
export interface KnownFilesTable {
  /** Publishes `path` for `ttlMs`; with `blocks`, its read-only opens are answered too. False if refused. */
  set(path: string, stat: FileStat, ttlMs: number, blocks: KnownBlocks | undefined): boolean
  clear(path: string): void
  /** Forgets every published child of the directory `dir`. */
  clearDir(dir: string): void
  clearAll(): void
  /** Paths the binding opened since the last call, oldest first. */
  takeOpened(): string[]
  /** The block-file prefix the binding registered handle `fh` with and its object's size, if it is registered. */
  handleOf(fh: number): { prefix: string; size: number } | undefined
  stats(): KnownFilesTableStats
}

/** The block files of an object of the published stat's size. */
export interface KnownBlocks {
  readonly prefix: string
  readonly blockSize: number
}

export interface KnownFilesTableStats {
  /** getattrs (LOOKUP, GETATTR) and opens the binding answered. */
  readonly getattrs: number
  readonly opens: number
  /** Opens not reported to the daemon (its queue was full): prefetch and recency missed them. */
  readonly openReportsDropped: number
  /** Paths published now (expired ones included until the binding drops them). */
  readonly entries: number
  /** Handles the binding opened that are not released yet (adopted ones included). */
  readonly openHandles: number
}

export interface KnownFilesStats extends KnownFilesTableStats {
  /** Handles the binding opened whose reads came back to the core (a block no longer on disk), and were adopted. */
  readonly adopted: number
}

/** Handles the binding opens itself are this and above; the core's own count up from 1, below it. */
export const NATIVE_FH_BASE = 0x8000_0000

export function isNativeHandle(fh: number): boolean {
  return fh >= NATIVE_FH_BASE
}

export class KnownFiles implements MetadataChangeListener {
  readonly #table: KnownFilesTable
  #adopted = 0

  constructor(table: KnownFilesTable) {
    this.#table = table
  }

  /**
   * `path` answers `stat` for `forMs` unless a change comes first; `blocks` (all on disk, may
   * be served for `blocksForMs`) lets the binding open it, when that lasts as long.
   */
  publish(path: string, stat: FileStat, forMs: number, blocks?: KnownBlocks & { forMs: number }): void {
    if (!(forMs > 0)) return
    const openable = blocks !== undefined && isType(stat.mode, S_IFREG) && blocks.forMs >= forMs ? blocks : undefined
    this.#table.set(path, stat, forMs, openable)
  }

  entry(path: string): void {
    this.#table.clear(path)
  }

  children(dir: string): void {
    this.#table.clearDir(dir)
  }

  all(): void {
    this.#table.clearAll()
  }

  takeOpened(): string[] {
    return this.#table.takeOpened()
  }

  handleOf(fh: number): { prefix: string; size: number } | undefined {
    return this.#table.handleOf(fh)
  }

  noteAdopted(): void {
    this.#adopted++
  }

  stats(): KnownFilesStats {
    return { ...this.#table.stats(), adopted: this.#adopted }
  }
}
