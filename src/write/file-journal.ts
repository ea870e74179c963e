/**
 * Writes the journal of each DirtyFile (see journal.ts for its format): one operation
 * at a time per file, in order, each computing the journal from the file's state when
 * it runs (not when asked), so the last one written is the newest. WriteBack asks for
 * a rewrite at every state change (open, commit, rename, upload) and a removal at
 * retirement and unlink. Commits freeze a generation and, when asked, make it durable
 * (data fsynced before the journal that names it).
 */
import { crashPoint } from './crash-points.js'
import type { DirtyFile } from './dirty-file.js'
import { JOURNAL_VERSION, nextSeq, type SourceId } from './journal.js'
import type { StagingStore } from './staging-store.js'

export class FileJournal {
  readonly #store: StagingStore
  readonly #source: SourceId

  constructor(store: StagingStore, source: SourceId) {
    this.#store = store
    this.#source = source
  }

  /** Rewrites the journal of `file` from its state when the write runs; `durable` fsyncs it. */
  persist(file: DirtyFile, durable: boolean): Promise<void> {
    return this.run(file, async () => {
      if (file.unlinked || file.retired) return
      const c = file.committed
      await this.#store.writeJournal(
        file.id,
        {
          version: JOURNAL_VERSION,
          seq: nextSeq(),
          bucket: this.#source.bucket,
          prefix: this.#source.prefix,
          key: file.key,
          committed: c === undefined ? null : { data: c.data.name, size: c.size, mtimeMs: c.mtimeMs },
          working: file.workingName,
          attrs: { ...file.attrs, mtimeMs: file.mtimeMs },
        },
        durable,
      )
      if (durable && c !== undefined) file.journalDurable = true
    })
  }

  /** Removes the journal of `file`, after its earlier journal operations. */
  remove(file: DirtyFile, durable: boolean): Promise<void> {
    return this.run(file, () => this.#store.removeJournal(file.id, durable))
  }

  /** Journal operations of one file run one at a time, in order. */
  run(file: DirtyFile, op: () => Promise<void>): Promise<void> {
    const next = file.journalTail.then(op, op)
    file.journalTail = next.catch(() => {})
    return next
  }

  /** Freezes what the writers wrote as the committed generation; `durable` puts it on disk for good. */
  async commit(file: DirtyFile, durable: boolean): Promise<void> {
    if (!file.clean) {
      const snap = await file.snapshot()
      if (snap.generation > (file.committed?.generation ?? file.uploadedGeneration)) file.setCommitted(snap)
      else file.release(snap.data)
    }
    if (durable) await this.makeDurable(file)
  }

  /** The committed generation's data fsynced, then a journal naming it, durably. */
  async makeDurable(file: DirtyFile): Promise<void> {
    const snap = file.committed
    if (snap === undefined || file.unlinked) return
    await snap.data.handle.sync()
    crashPoint('after-data-sync', file.key)
    await this.persist(file, true)
  }
}
