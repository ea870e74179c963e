/**
 * One staging data file: its open handle, size, the generation of its content,
 * writes in flight, and the holds that freeze it.
 *
 * INVARIANT: while `holds > 0` (a commit or an upload needs these exact bytes) no
 * write starts on this file; writers copy it first (DirtyFile's copy-on-write).
 * `settled()` waits for writes that started before the freeze.
 */
import type { FileHandle } from 'node:fs/promises'
import type { StagingBudget } from './staging-budget.js'

export class DataFile {
  readonly name: string
  readonly handle: FileHandle
  size: number
  /** The DirtyFile generation of the last change to these bytes. */
  generation: number
  holds = 0
  #writing = 0
  #idle: Array<() => void> = []
  /** Told of every change of this file's size, and of its end (close), for `--staging-size`. */
  readonly #budget: StagingBudget | undefined
  #closed = false

  constructor(name: string, handle: FileHandle, size: number, generation: number, budget?: StagingBudget) {
    this.name = name
    this.handle = handle
    this.size = size
    this.generation = generation
    this.#budget = budget
    budget?.add(size)
  }

  get frozen(): boolean {
    return this.holds > 0
  }

  async write(data: Buffer, position: number, generation: number): Promise<number> {
    this.#writing++
    try {
      const { bytesWritten } = await this.handle.write(data, 0, data.length, position)
      this.#resize(Math.max(this.size, position + bytesWritten))
      this.generation = Math.max(this.generation, generation)
      return bytesWritten
    } finally {
      this.#done()
    }
  }

  async truncate(size: number, generation: number): Promise<void> {
    this.#writing++
    try {
      await this.handle.truncate(size)
      this.#resize(size)
      this.generation = Math.max(this.generation, generation)
    } finally {
      this.#done()
    }
  }

  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - position))
    if (n === 0) return Buffer.alloc(0)
    const buf = Buffer.allocUnsafe(n)
    const { bytesRead } = await this.handle.read(buf, 0, n, position)
    return buf.subarray(0, bytesRead)
  }

  /** Resolves once no write is in flight on this file. */
  async settled(): Promise<void> {
    while (this.#writing > 0) await new Promise<void>(resolve => this.#idle.push(resolve))
  }

  /** Closes the file (its bytes leave the staging budget; it is about to be removed). */
  async close(): Promise<void> {
    if (!this.#closed) this.#budget?.add(-this.size)
    this.#closed = true
    await this.handle.close().catch(() => {})
  }

  #resize(size: number): void {
    if (!this.#closed) this.#budget?.add(size - this.size)
    this.size = size
  }

  #done(): void {
    if (--this.#writing === 0) for (const wake of this.#idle.splice(0)) wake()
  }
}
