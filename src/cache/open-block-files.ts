/**
 * A bounded cache of open block files, so a block read from disk is one positioned
 * read instead of open + fstat + read + close (four trips through libuv's pool).
 *
 * Kept honest by the DiskBlockCache: every path it unlinks, evicts or replaces is
 * `drop`ped here first. A handle is closed once it is neither cached nor in use, so a
 * read in flight never sees its descriptor closed (or reused) under it.
 */
import { readFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { LRUCache } from 'lru-cache'

interface OpenFile {
  readonly handle: Promise<FileHandle>
  users: number
  cached: boolean
}

/** At most this many descriptors, and at most a quarter of the process's soft limit. */
const MAX_OPEN_BLOCK_FILES = 4096

export function openFilesBudget(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1])
    if (Number.isFinite(soft) && soft > 0) return Math.max(16, Math.min(MAX_OPEN_BLOCK_FILES, Math.floor(soft / 4)))
  } catch { /* not Linux: be modest */ }
  return 256
}

export class OpenBlockFiles {
  readonly #files: LRUCache<string, OpenFile>

  constructor(max: number) {
    this.#files = new LRUCache<string, OpenFile>({
      max,
      dispose: f => {
        f.cached = false
        if (f.users === 0) closeQuietly(f)
      },
    })
  }

  /** Reads from offset 0 of `path` into `buf`; resolves with the bytes read. Throws as fs does (ENOENT…). */
  async read(path: string, buf: Buffer): Promise<number> {
    let f = this.#files.get(path)
    if (f === undefined) {
      f = { handle: open(path, 'r'), users: 0, cached: true }
      this.#files.set(path, f)
    }
    f.users++
    try {
      const handle = await f.handle
      return (await handle.read(buf, 0, buf.length, 0)).bytesRead
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
  }

  closeAll(): void {
    this.#files.clear()
  }

  get size(): number {
    return this.#files.size
  }
}

function closeQuietly(f: OpenFile): void {
  f.handle.then(h => h.close()).catch(() => {})
}
