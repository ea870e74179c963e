/**
 * Which object each cached block belongs to, on disk: block files are named by
 * an opaque hash (objectId), so `pin`, `free` and per-path TTLs, which speak of
 * paths, need objectId → (namespace, key). The catalog is an append-only journal
 * `objects.jsonl` under the cache directory, one line per object the first time
 * one of its blocks is written (batched into one write), read back at start and
 * then rewritten with only the objects that still have blocks (compaction).
 *
 * A block is written only after its object's line is in the journal, so a block
 * without a catalog entry (a crash between the two is impossible in that order;
 * caches from older versions have some) is merely unknown by path: it is still
 * served and evicted normally.
 */
import { createReadStream } from 'node:fs'
import { appendFile, type FileHandle, open, rename } from 'node:fs/promises'
import { join } from 'node:path'

const CATALOG_FILE = 'objects.jsonl'

export interface CatalogEntry {
  /** Namespace id of the mount the object was cached for. */
  readonly ns: string
  /** Key relative to that mount's prefix. */
  readonly key: string
}

interface Line {
  i: string
  n: string
  k: string
}

export class ObjectCatalog {
  readonly #path: string
  #pending: string[] = []
  #batch: Promise<void> | undefined
  /** Serialises appends and compaction on the one file handle. */
  #serial: Promise<void> = Promise.resolve()
  #appended = 0
  /** Kept open for appends between compactions (an open and a close per batch cost more than the write). */
  #appendHandle: FileHandle | undefined
  /** The compaction queued or running: one at a time, later requests share it. */
  #compaction: Promise<void> | undefined
  /** Objects whose line is written or being written but whose first block is not indexed yet. */
  readonly #unsettled = new Map<string, { entry: CatalogEntry; written: Promise<void> }>()

  private constructor(path: string) {
    this.#path = path
  }

  static async open(cacheDir: string): Promise<ObjectCatalog> {
    const path = join(cacheDir, CATALOG_FILE)
    await appendFile(path, '') // exists from now on, so forEach finds it
    return new ObjectCatalog(path)
  }

  /**
   * Calls `visit` with every entry in the journal, in order (so the last line of an id
   * wins), as it is read: nothing is collected here; torn lines are skipped.
   */
  async forEach(visit: (objectId: string, entry: CatalogEntry) => void): Promise<void> {
    const interns = new Map<string, string>() // one string per namespace, not one per line
    let n = 0
    let rest = ''
    const onLine = (text: string): void => {
      let line: Line
      try {
        line = JSON.parse(text) as Line
      } catch {
        return
      }
      if (typeof line.i !== 'string' || typeof line.k !== 'string' || typeof line.n !== 'string') return
      const ns = interns.get(line.n) ?? line.n
      interns.set(ns, ns)
      visit(line.i, { ns, key: line.k })
      n++
    }
    // Split by hand, a chunk at a time: readline costs as much again as JSON.parse per line.
    for await (const chunk of createReadStream(this.#path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = rest + (chunk as string)
      let start = 0
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        onLine(text.slice(start, end))
        start = end + 1
      }
      rest = text.slice(start)
    }
    if (rest !== '') onLine(rest)
    this.#appended = n
  }

  /** Appends an object's line; resolves once it is written (with others queued meanwhile). */
  record(objectId: string, entry: CatalogEntry): Promise<void> {
    this.#pending.push(JSON.stringify({ i: objectId, n: entry.ns, k: entry.key } satisfies Line))
    if (this.#batch === undefined) {
      const batch = this.#serial.then(() => this.#flush())
      this.#batch = batch
      this.#serial = batch.catch(() => {})
    }
    return this.#batch
  }

  /** Records an object's line once: later calls share the first write until `settle`. */
  ensure(objectId: string, entry: CatalogEntry): { entry: CatalogEntry; written: Promise<void> } {
    let pending = this.#unsettled.get(objectId)
    if (pending === undefined) {
      pending = { entry, written: this.record(objectId, entry) }
      this.#unsettled.set(objectId, pending)
    }
    return pending
  }

  /** The object's block is in the index now (or its write failed): the index keeps its entry. */
  settle(objectId: string): void {
    this.#unsettled.delete(objectId)
  }

  isUnsettled(objectId: string): boolean {
    return this.#unsettled.has(objectId)
  }

  /** Entries `compact` must keep although no indexed block names them yet. */
  unsettled(): Array<[string, CatalogEntry]> {
    return [...this.#unsettled].map(([id, p]) => [id, p.entry])
  }

  get unsettledCount(): number {
    return this.#unsettled.size
  }

  /** Lines written since the last compaction (or start). */
  get appendedLines(): number {
    return this.#appended
  }

  /**
   * Rewrites the journal with `live` entries only (temp file, then rename). While one
   * compaction is queued or running, another request shares it (block writes during a
   * compaction would otherwise queue one each); `live` is read when it runs.
   */
  compact(live: Iterable<[string, CatalogEntry]>): Promise<void> {
    if (this.#compaction !== undefined) return this.#compaction
    const run = this.#serial
      .then(async () => {
        const tmp = `${this.#path}.tmp`
        const out = await open(tmp, 'w')
        let n = 0
        try {
          let chunk: string[] = []
          for (const [i, e] of live) {
            chunk.push(JSON.stringify({ i, n: e.ns, k: e.key } satisfies Line))
            n++
            if (chunk.length >= 4096) {
              await out.write(chunk.join('\n') + '\n')
              chunk = []
            }
          }
          if (chunk.length > 0) await out.write(chunk.join('\n') + '\n')
        } finally {
          await out.close()
        }
        await this.#closeAppendHandle()
        await rename(tmp, this.#path)
        this.#appended = n
      })
      .finally(() => {
        this.#compaction = undefined
      })
    this.#compaction = run
    this.#serial = run.catch(() => {})
    return run
  }

  /** Resolves once queued appends and compactions are done. */
  async close(): Promise<void> {
    await this.#serial
    await this.#closeAppendHandle()
  }

  async #flush(): Promise<void> {
    this.#batch = undefined
    const lines = this.#pending.splice(0)
    if (lines.length === 0) return
    // One append per batch: batches are as large as the queue.
    this.#appendHandle ??= await open(this.#path, 'a')
    await this.#appendHandle.write(lines.join('\n') + '\n')
    this.#appended += lines.length
  }

  async #closeAppendHandle(): Promise<void> {
    const fh = this.#appendHandle
    this.#appendHandle = undefined
    await fh?.close()
  }
}
