/**
 * The DirtyFiles of a mount by path: at most one per path, created once however many
 * opens race (a SingleFlight per path; the open handle is counted before the first
 * await, so nothing retires a file under an opener). WriteBack owns the lifecycle;
 * this registry only finds, creates and forgets.
 */
import { SingleFlight } from '../util/single-flight.js'
import { DataFile } from './data-file.js'
import { DirtyFile } from './dirty-file.js'
import type { FileJournal } from './file-journal.js'
import type { StagingStore } from './staging-store.js'

export class DirtyFiles {
  readonly #files = new Map<string, DirtyFile>()
  readonly #creating = new SingleFlight<DirtyFile>()
  /** Told when a path may become busy (a staged file is made, attached or moved there), before it is. */
  onBusy: (path: string) => void = () => {}

  get(path: string): DirtyFile | undefined {
    return this.#files.get(path)
  }

  set(path: string, file: DirtyFile): void {
    this.onBusy(path)
    this.#files.set(path, file)
  }

  /** Forgets `file` at `path` if it is still the one registered there. */
  forget(file: DirtyFile, path = file.path): void {
    if (this.#files.get(path) === file) this.#files.delete(path)
  }

  all(): DirtyFile[] {
    return [...this.#files.values()]
  }

  /** Dirty files directly inside the directory `dir`. */
  childrenOf(dir: string): DirtyFile[] {
    const prefix = dir === '/' ? '/' : dir + '/'
    return this.all().filter(f => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes('/'))
  }

  /** Dirty files at or below `path`. */
  under(path: string): DirtyFile[] {
    if (path === '/') return this.all()
    return this.all().filter(f => f.path === path || f.path.startsWith(path + '/'))
  }

  /** Whether `path` has a staged file or one being created. */
  busy(path: string): boolean {
    return this.#files.has(path) || this.#creating.pending(path) !== undefined
  }

  /** Waits for a DirtyFile of `path` being created, so a namespace change sees it. */
  async settled(path: string): Promise<void> {
    await this.#creating.pending(path)?.catch(() => {})
  }

  /** The DirtyFile of `path` with one more open handle: the existing one, or one made by `create` (once per path). */
  async open(path: string, create: () => Promise<DirtyFile>): Promise<DirtyFile> {
    this.onBusy(path)
    for (;;) {
      const existing = this.#files.get(path)
      if (existing !== undefined) {
        existing.openHandles++
        return existing
      }
      let created: DirtyFile
      try {
        created = await this.#creating.run(path, create)
      } catch (err) {
        // A rename moved a staged file here while this one was being made (its copy of the old object may fail): that one is the file now.
        if (this.#files.has(path)) continue
        throw err
      }
      // Between creation and this continuation the file may have been retired or unlinked, or another registered (create).
      if (this.#files.get(path) === created) {
        created.openHandles++
        return created
      }
    }
  }

  /** A new DirtyFile of `path` (its data file and journal written), registered; for `open`'s `create`. */
  async create(store: StagingStore, journal: FileJournal, path: string, key: string, fill?: (file: DirtyFile) => Promise<void>): Promise<DirtyFile> {
    const { name, handle } = await store.createData()
    // A new or truncated file is generation 1 (dirty); a copy of the object is generation 0 (clean).
    const data = new DataFile(name, handle, 0, fill === undefined ? 1 : 0, store.budget)
    const file = new DirtyFile({ id: store.newId(), path, key, store, current: data, uploadedGeneration: 0, mtimeMs: Date.now() })
    try {
      if (fill !== undefined) await fill(file)
      await journal.persist(file, false)
    } catch (err) {
      await file.destroy()
      await store.removeJournal(file.id, false)
      throw err
    }
    // A rename moved a staged file to `path` meanwhile: that one is the file now (open attaches to it); this one goes.
    if (this.#files.has(path)) {
      await file.destroy()
      await store.removeJournal(file.id, false)
      return file
    }
    this.set(path, file)
    return file
  }

  /** The staged file of `path` with one more open handle (counted before anything can retire it), if there is one. */
  attach(path: string): DirtyFile | undefined {
    const file = this.#files.get(path)
    if (file !== undefined) file.openHandles++
    return file
  }

  /** Files with content not yet in the bucket, their bytes, and bytes sent by uploads now running. */
  pending(): { pending: number; pendingBytes: number; inFlightBytes: number } {
    let pending = 0
    let pendingBytes = 0
    let inFlightBytes = 0
    for (const f of this.#files.values()) {
      inFlightBytes += f.uploadSent
      if (f.unlinked || (f.clean && f.committed === undefined)) continue
      pending++
      pendingBytes += f.committed?.size ?? f.size
    }
    return { pending, pendingBytes, inFlightBytes }
  }
}
