/**
 * The staging directory on local disk: data files of written content and the
 * journals that say what they are (see journal.ts). Never whole files in memory.
 *
 *   <cacheDir>/staging/<hex>.data    bytes as written (one per generation that needed a copy)
 *   <cacheDir>/staging/<id>.json     the journal of one staged file
 *   <cacheDir>/recovered/            what recovery could not upload, kept for the operator
 *
 * Durability: a journal is written to a unique temporary name, fsynced, renamed
 * over the old one, and the directory fsynced; a data file is fsynced before a
 * journal names it as committed. ENOSPC anywhere is CacheFullError (ENOSPC).
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { chmod, copyFile, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { CacheFullError } from '../errors.js'
import { syncDir } from '../util/sync-dir.js'
import { crashPoint } from './crash-points.js'
import { type Journal, parseJournal } from './journal.js'
import { StagingBudget, type StagingLimits } from './staging-budget.js'

export interface NewDataFile {
  readonly name: string
  readonly handle: FileHandle
}

/** Turns ENOSPC/EDQUOT into CacheFullError; other errors pass. */
export function diskError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CacheFullError(`${what}: the cache disk is full; written data cannot be staged`, { cause: err })
  return err
}

export class StagingStore {
  readonly #dir: string
  readonly #recoveredDir: string
  /** Bytes of the data files below, against `--staging-size` (DataFile keeps it up to date). */
  readonly budget: StagingBudget

  constructor(cacheDir: string, limits?: StagingLimits) {
    this.budget = new StagingBudget(limits)
    this.#dir = join(cacheDir, 'staging')
    this.#recoveredDir = join(cacheDir, 'recovered')
  }

  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await chmod(this.#dir, 0o700)
  }

  dataPath(name: string): string {
    return join(this.#dir, name)
  }

  newId(): string {
    return randomBytes(12).toString('hex')
  }

  /** A new, empty data file. */
  async createData(): Promise<NewDataFile> {
    const name = `${this.newId()}.data`
    try {
      return { name, handle: await open(join(this.#dir, name), 'w+', 0o600) }
    } catch (err) {
      throw diskError(err, 'staging')
    }
  }

  /** A copy of `from` (a reflink where the filesystem has them), open for writing. */
  async cloneData(from: string): Promise<NewDataFile> {
    const name = `${this.newId()}.data`
    const path = join(this.#dir, name)
    try {
      await copyFile(join(this.#dir, from), path, fsConstants.COPYFILE_FICLONE)
      return { name, handle: await open(path, 'r+') }
    } catch (err) {
      await rm(path, { force: true })
      throw diskError(err, 'staging')
    }
  }

  async removeData(name: string): Promise<void> {
    await rm(join(this.#dir, name), { force: true })
  }

  /** Replaces the journal `id` atomically; `durable` also fsyncs the file and the directory. */
  async writeJournal(id: string, journal: Journal, durable: boolean): Promise<void> {
    const tmp = join(this.#dir, `${id}.json.${randomBytes(6).toString('hex')}.tmp`)
    try {
      const fh = await open(tmp, 'w', 0o600)
      try {
        await fh.writeFile(JSON.stringify(journal))
        if (durable) await fh.sync()
      } finally {
        await fh.close()
      }
      crashPoint('after-journal-temp', journal.key)
      await rename(tmp, join(this.#dir, `${id}.json`))
      crashPoint('after-journal-rename', journal.key)
      if (durable) await this.syncDir()
    } catch (err) {
      await rm(tmp, { force: true })
      throw diskError(err, 'staging journal')
    }
  }

  async removeJournal(id: string, durable: boolean): Promise<void> {
    await rm(join(this.#dir, `${id}.json`), { force: true })
    if (durable) await this.syncDir()
  }

  /** fsync of the staging directory: creates, renames and removes in it survive a power loss. */
  syncDir(): Promise<void> {
    return syncDir(this.#dir)
  }

  // ---- for recovery ----

  /** Names in the staging directory. */
  async list(): Promise<string[]> {
    return readdir(this.#dir)
  }

  async readJournal(id: string): Promise<Journal> {
    return parseJournal(await readFile(join(this.#dir, `${id}.json`), 'utf8'), id)
  }

  async sizeOf(name: string): Promise<number | undefined> {
    return stat(join(this.#dir, name)).then(
      s => s.size,
      () => undefined,
    )
  }

  async openData(name: string): Promise<FileHandle> {
    return open(join(this.#dir, name), 'r+')
  }

  /** Moves a staging file to recovered/ (never deletes what recovery could not use). */
  async moveAside(name: string): Promise<string> {
    await mkdir(this.#recoveredDir, { recursive: true, mode: 0o700 })
    const dest = join(this.#recoveredDir, name)
    await rename(join(this.#dir, name), dest)
    return dest
  }

  /** Removes what recovered/ has kept longer than `maxAgeMs`; returns the names removed. */
  async pruneRecovered(maxAgeMs: number, nowMs: number): Promise<string[]> {
    const names = await readdir(this.#recoveredDir).catch(() => [] as string[])
    const removed: string[] = []
    for (const name of names) {
      const path = join(this.#recoveredDir, name)
      const st = await stat(path).catch(() => undefined)
      if (st !== undefined && nowMs - st.mtimeMs > maxAgeMs) {
        await rm(path, { force: true, recursive: true })
        removed.push(name)
      }
    }
    return removed
  }
}
