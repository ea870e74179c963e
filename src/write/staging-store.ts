/**
 * Written data waiting for (or being) uploaded, on local disk under
 * `<cacheDir>/staging/`, never whole in memory. Each staged file is a pair:
 *
 *   <id>.data   the file's bytes as written
 *   <id>.json   its journal: { key, state, size, mtimeMs }; `closed` means a writer
 *               closed it (or asked fsync/flush) and its bytes must reach the bucket
 *
 * Journals are written to a temporary file, fsynced and renamed, so after a
 * SIGKILL or a reboot the next mount finds every closed file and uploads it.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

export type JournalState = 'open' | 'closed'

export interface Journal {
  readonly version: 1
  readonly key: string
  readonly state: JournalState
  readonly size: number
  readonly mtimeMs: number
}

export interface StagedRecord {
  readonly id: string
  readonly dataPath: string
  readonly journal: Journal
}

export class StagingStore {
  readonly #dir: string
  readonly #recoveredDir: string

  constructor(cacheDir: string) {
    this.#dir = join(cacheDir, 'staging')
    this.#recoveredDir = join(cacheDir, 'recovered')
  }

  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
  }

  /** A new, empty data file and its id. */
  async create(): Promise<{ id: string; dataPath: string; handle: FileHandle }> {
    const id = randomBytes(12).toString('hex')
    const dataPath = join(this.#dir, `${id}.data`)
    const handle = await open(dataPath, 'w+', 0o600)
    return { id, dataPath, handle }
  }

  async writeJournal(id: string, journal: Journal): Promise<void> {
    const tmp = join(this.#dir, `${id}.json.tmp`)
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(JSON.stringify(journal))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(this.#dir, `${id}.json`))
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.#dir, `${id}.json`), { force: true })
    await rm(join(this.#dir, `${id}.data`), { force: true })
  }

  /**
   * Staged files left by an earlier daemon. Closed ones are returned for upload;
   * files that were still open when the daemon died are moved to `recovered/` (their
   * bytes may be half-written) and returned separately so they can be reported.
   */
  async recover(): Promise<{ closed: StagedRecord[]; moved: string[] }> {
    const closed: StagedRecord[] = []
    const moved: string[] = []
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith('.json')) continue
      const id = name.slice(0, -'.json'.length)
      const dataPath = join(this.#dir, `${id}.data`)
      let journal: Journal
      try {
        journal = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as Journal
      } catch {
        continue
      }
      if (journal.state === 'closed') {
        closed.push({ id, dataPath, journal })
        continue
      }
      await mkdir(this.#recoveredDir, { recursive: true })
      await rename(dataPath, join(this.#recoveredDir, `${id}.data`)).catch(() => {})
      await rename(join(this.#dir, name), join(this.#recoveredDir, name)).catch(() => {})
      moved.push(journal.key)
    }
    // Data files without a journal were never promised to anyone: drop them.
    const keep = new Set(closed.map(c => c.id))
    for (const name of await readdir(this.#dir)) {
      if (!keep.has(name.split('.')[0] ?? '')) await rm(join(this.#dir, name), { force: true })
    }
    return { closed, moved }
  }
}
