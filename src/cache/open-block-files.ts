/**
 * A bounded cache of open block files, so a block read from disk is one positioned
 * read (`preadv` of header and data) instead of open + fstat + read + close.
 *
 * Kept honest by the DiskBlockCache: every path it unlinks, evicts or replaces is
 * `drop`ped here first. A descriptor is closed once it is neither cached nor in use,
 * so a read in flight never sees its descriptor closed (or reused) under it. Every
 * drop is passed on to the `listener`: the FUSE binding keeps block files open for its
 * direct reads too (vendor/fuse-native/block-fds.h), and must let go of the same ones.
 *
 * Raw descriptors and fs's callback API, not FileHandle: this is the disk-hit path,
 * and each promise layer the FileHandle API adds is event-loop time per read.
 */
import { close, open, readFileSync, readv } from 'node:fs'
import { LRUCache } from 'lru-cache'

/** Another holder of open block files, told of each path dropped here. */
export interface BlockFileListener {
  /** `path` is about to be unlinked or replaced, or was found unreadable. */
  drop(path: string): void
  /** `path` was just renamed into place (replacing any older file), with `header` (its header and chunk table). */
  written(path: string, header: Buffer): void
  /**
   * Writes `tmp` (header, then data) and renames it to `dest`, then keeps it as `written` would, in
   * one step of its own (the binding: one thread-pool task instead of four round trips). Rejects as
   * fs does, with `code` and `syscall`; after a failed rename `tmp` is still there, after a failed
   * write it is gone.
   */
  write?(tmp: string, dest: string, header: Buffer, data: Buffer): Promise<void>
  /** Memory for a block that `write` can write past the page cache (page-aligned, the binding's allocBlock). */
  allocBlock?(bytes: number): Buffer
  /** Every block file is let go (the cache closes). */
  dropAll(): void
}

interface OpenFile {
  readonly fd: Promise<number>
  users: number
  cached: boolean
}

/** At most this many descriptors, and at most a quarter of the process's soft limit. */
const MAX_OPEN_BLOCK_FILES = 4096

export function openFilesBudget(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find(l => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1])
    if (Number.isFinite(soft) && soft > 0) return Math.max(16, Math.min(MAX_OPEN_BLOCK_FILES, Math.floor(soft / 4)))
  } catch {
    /* not Linux: be modest */
  }
  return 256
}

export class OpenBlockFiles {
  readonly #files: LRUCache<string, OpenFile>
  listener: BlockFileListener | undefined

  constructor(max: number) {
    this.#files = new LRUCache<string, OpenFile>({
      max,
      dispose: f => {
        f.cached = false
        if (f.users === 0) closeQuietly(f)
      },
    })
  }

  /** Reads from offset 0 of `path` into `buffers` in turn; resolves with the bytes read. Throws as fs does (ENOENT…). */
  async readv(path: string, buffers: Buffer[]): Promise<number> {
    let f = this.#files.get(path)
    if (f === undefined) {
      f = { fd: openForReading(path), users: 0, cached: true }
      this.#files.set(path, f)
    }
    f.users++
    try {
      const fd = await f.fd
      return await new Promise<number>((resolve, reject) => readv(fd, buffers, 0, (err, n) => (err ? reject(err) : resolve(n))))
    } catch (err) {
      this.drop(path)
      throw err
    } finally {
      f.users--
      if (!f.cached && f.users === 0) closeQuietly(f)
    }
  }

  /** Forgets `path` (about to be unlinked or replaced); its descriptor closes once unused. */
  drop(path: string): void {
    this.#files.delete(path)
    this.listener?.drop(path)
  }

  /** `path` was just renamed into place with `header`: a descriptor of a file it replaced must not serve it. */
  written(path: string, header: Buffer): void {
    this.#files.delete(path)
    this.listener?.written(path, header)
  }

  /**
   * Writes a block file at `dest` through `tmp`: by the listener in one step if it can (it keeps
   * the file as `written` would), else by the caller's `fallback`. Either way no descriptor of a
   * file it replaced serves it afterwards.
   */
  async write(tmp: string, dest: string, header: Buffer, data: Buffer, fallback: () => Promise<void>): Promise<void> {
    const write = this.listener?.write
    if (write === undefined) return fallback()
    await write(tmp, dest, header, data)
    this.#files.delete(dest)
  }

  closeAll(): void {
    this.#files.clear()
    this.listener?.dropAll()
  }

  get size(): number {
    return this.#files.size
  }
}

function openForReading(path: string): Promise<number> {
  const fd = new Promise<number>((resolve, reject) => open(path, 'r', (err, n) => (err ? reject(err) : resolve(n))))
  fd.catch(() => {}) // the reader that opened it sees the error; a dropped entry must not leave it unhandled
  return fd
}

function closeQuietly(f: OpenFile): void {
  f.fd.then(
    fd => close(fd, () => {}),
    () => {},
  )
}
