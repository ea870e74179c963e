/**
 * The table of open files: handle numbers (never reused: the binding's direct-read
 * table relies on it) to a clean reader of one object version or a dirty staged file,
 * and the handles whose reads the FUSE binding answers itself (`DirectReads`).
 */
import { BadHandleError } from '../errors.js'
import type { FileReader } from '../cache/file-reader.js'
import type { DirtyFile } from '../write/dirty-file.js'
import { isNativeHandle } from './known-files.js'

/**
 * Reads the FUSE binding answers itself, on its own threads, without the core: a
 * handle whose object is all on local disk is registered with its block files' prefix,
 * and the binding reads and checks them (falling back to `readInto` when it cannot).
 * The event loop then sees no read of a warm file at all.
 */
export interface DirectReads {
  /** Serves reads of `fh` from the block files `prefix` + index (an object of `size` bytes); false if refused. */
  register(fh: number, prefix: string, size: number, blockSize: number): boolean
  unregister(fh: number): void
  /** Registered handles whose release the binding answered itself since the last call. */
  takeReleased(): number[]
  stats(): DirectReadStats
}

export interface DirectReadStats {
  /** Reads answered by the binding, and their bytes. */
  readonly reads: number
  readonly bytes: number
  /** Reads of registered handles the binding handed back (block evicted or corrupt). */
  readonly fallbacks: number
  /** Reads of part of a block (a large file's) the binding served from just the 64 KiB chunks they cover. */
  readonly chunkReads: number
  /** Block files the binding read and checked (each a disk-cache hit). */
  readonly blocks: number
  /** FLUSH requests the kernel sent, answered by the binding or the daemon (none for clean read-only handles: FOPEN_NOFLUSH). */
  readonly flushes: number
  /** Block files the binding keeps open between reads now, and the opens of block files it made. */
  readonly openBlockFiles: number
  readonly blockFileOpens: number
  /** Block files the cache wrote whose pages then left the page cache once on disk, and those left cached (queue full). */
  readonly pageCacheDrops: number
  readonly pageCacheDropsSkipped: number
  /** Block files the cache wrote past the page cache (O_DIRECT: whole pages from page-aligned memory). */
  readonly directBlockWrites: number
}

/** The figures of a binding that served nothing (or has no direct reads). */
export const NO_DIRECT_READS: DirectReadStats = {
  reads: 0,
  bytes: 0,
  fallbacks: 0,
  blocks: 0,
  chunkReads: 0,
  flushes: 0,
  openBlockFiles: 0,
  blockFileOpens: 0,
  pageCacheDrops: 0,
  pageCacheDropsSkipped: 0,
  directBlockWrites: 0,
}

/** An open file: a clean read of one object version, or a handle on staged writes. */
export type FileHandle =
  | { readonly kind: 'clean'; readonly path: string; readonly reader: FileReader; direct?: boolean }
  | { readonly kind: 'dirty'; readonly path: string; readonly file: DirtyFile }

export class OpenFiles {
  readonly #handles = new Map<number, FileHandle>()
  #next = 1
  direct: DirectReads | undefined

  /** Registers a handle; a dirty one already counts in `file.openHandles` (WriteBack.open did it). */
  add(h: FileHandle): number {
    const fh = this.#next++
    this.#handles.set(fh, h)
    return fh
  }

  /** Takes over a handle the binding opened itself (known-files.ts) under its own number. */
  adopt(fh: number, h: FileHandle): void {
    this.#handles.set(fh, h)
  }

  /** Lets the binding serve a clean handle's reads from the block files at `prefix`. */
  registerDirect(fh: number, h: FileHandle & { kind: 'clean' }, prefix: string, blockSize: number): void {
    h.direct = this.direct?.register(fh, prefix, h.reader.version.size, blockSize) === true
  }

  find(fh: number): FileHandle | undefined {
    return this.#handles.get(fh)
  }

  get(fh: number): FileHandle {
    const handle = this.#handles.get(fh)
    if (handle === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
    return handle
  }

  dirty(fh: number): DirtyFile {
    const handle = this.get(fh)
    if (handle.kind !== 'dirty') throw new BadHandleError(`file handle ${fh} is not open for writing`)
    return handle.file
  }

  /** Forgets the handle; returns what it was. */
  remove(fh: number): FileHandle | undefined {
    const handle = this.#handles.get(fh)
    // A handle the binding opened and the core never saw is registered there all the same.
    if ((handle?.kind === 'clean' && handle.direct === true) || (handle === undefined && isNativeHandle(fh))) this.direct?.unregister(fh)
    this.#forget(fh)
    return handle
  }

  /** Forgets the handles whose release the binding answered (called at each open and on a timer). */
  forgetReleased(): void {
    if (this.direct === undefined) return
    for (const fh of this.direct.takeReleased()) this.#forget(fh)
  }

  /** Drops a handle; a clean one's reader gives its read-ahead window back. */
  #forget(fh: number): void {
    const handle = this.#handles.get(fh)
    if (handle?.kind === 'clean') handle.reader.close()
    this.#handles.delete(fh)
  }

  directStats(): DirectReadStats {
    return this.direct?.stats() ?? NO_DIRECT_READS
  }

  get size(): number {
    return this.#handles.size
  }

  /** Handles the binding opened that were adopted here (and count in its own open handles too). */
  get adoptedCount(): number {
    let n = 0
    for (const fh of this.#handles.keys()) if (isNativeHandle(fh)) n++
    return n
  }
}
