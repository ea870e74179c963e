/**
 * One file with written bytes not (yet) in the bucket: its staging data file,
 * size, mtime and the generation of its content.
 *
 * INVARIANT: `generation` grows with every change (write, truncate); the file is
 * clean when `uploadedGeneration === generation`. Uploads of one DirtyFile run one
 * at a time (`serialize`), so an older upload never lands after a newer one.
 */
import type { FileHandle } from 'node:fs/promises'
import { CacheFullError } from '../errors.js'

export class DirtyFile {
  readonly id: string
  readonly dataPath: string
  key: string
  path: string
  size: number
  mtimeMs: number
  generation: number
  uploadedGeneration = 0
  openHandles = 0
  /** Set by unlink: the bytes must never be uploaded. */
  unlinked = false
  /**
   * Set when a write or truncate of the staging file failed (e.g. ENOSPC): the staged
   * content is not what the writer asked for, so it must never replace the object.
   */
  failedWrite: Error | undefined = undefined
  /** Why the last upload failed, until one succeeds. */
  lastError: unknown = undefined
  readonly #handle: FileHandle
  #chain: Promise<unknown> = Promise.resolve()

  constructor(init: { id: string; dataPath: string; handle: FileHandle; key: string; path: string; size: number; mtimeMs: number; generation: number }) {
    this.id = init.id
    this.dataPath = init.dataPath
    this.#handle = init.handle
    this.key = init.key
    this.path = init.path
    this.size = init.size
    this.mtimeMs = init.mtimeMs
    this.generation = init.generation
  }

  get clean(): boolean {
    return this.uploadedGeneration === this.generation
  }

  async write(data: Buffer, position: number): Promise<number> {
    try {
      const { bytesWritten } = await this.#handle.write(data, 0, data.length, position)
      this.size = Math.max(this.size, position + bytesWritten)
      this.#changed()
      return bytesWritten
    } catch (err) {
      throw this.#fail(err)
    }
  }

  /** Copies existing object bytes into the staging file: not a change of content. */
  async fill(data: Buffer, position: number): Promise<void> {
    try {
      await this.#handle.write(data, 0, data.length, position)
    } catch (err) {
      throw diskError(err, this.path)
    }
    this.size = Math.max(this.size, position + data.length)
  }

  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - position))
    if (n === 0) return Buffer.alloc(0)
    const buf = Buffer.allocUnsafe(n)
    const { bytesRead } = await this.#handle.read(buf, 0, n, position)
    return buf.subarray(0, bytesRead)
  }

  async truncate(size: number): Promise<void> {
    try {
      await this.#handle.truncate(size)
    } catch (err) {
      throw this.#fail(err)
    }
    this.size = size
    this.#changed()
  }

  touch(mtimeMs: number): void {
    this.mtimeMs = mtimeMs
  }

  /** Makes the staged bytes durable on local disk (before the journal says `closed`). */
  async syncToDisk(): Promise<void> {
    await this.#handle.sync()
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => {})
  }

  /** Runs `work` after every earlier serialized task of this file. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work)
    this.#chain = next.catch(() => {})
    return next
  }

  #fail(err: unknown): Error {
    this.failedWrite = diskError(err, this.path)
    return this.failedWrite
  }

  #changed(): void {
    this.generation++
    this.mtimeMs = Date.now()
  }
}

function diskError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CacheFullError(`${path}: the cache disk is full; written data cannot be staged`, { cause: err })
  return err as Error
}
