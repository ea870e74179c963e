/**
 * What a new daemon does with the staging directory an earlier one left.
 *
 * Only journals are trusted. Each is handled on its own (one bad record never
 * stops the mount):
 * - a journal of another bucket or prefix is left in place, with a warning: this
 *   cache directory was used for another source, whose mount will upload it;
 * - a journal that cannot be read is moved to recovered/, with a warning (never deleted);
 * - of journals naming the same key, the highest `seq` wins (a rename onto a staged
 *   file): the others were superseded and are removed;
 * - a committed generation whose data file is missing or shorter than the journal
 *   says is moved aside and reported, never uploaded;
 * - working files (changes nobody closed) and data files no journal names are moved
 *   to recovered/ and reported by key where known.
 * recovered/ keeps things RECOVERED_KEEP_MS, then they are removed.
 */
import type { Logger } from 'pino'
import { messageOf } from '../errors.js'
import { DataFile } from './data-file.js'
import { DirtyFile } from './dirty-file.js'
import type { Journal, SourceId } from './journal.js'
import type { StagingStore } from './staging-store.js'

export interface RecoveryResult {
  /** Committed files to upload, registered by the caller. */
  readonly files: DirtyFile[]
  readonly movedAside: number
}

export async function recoverStaging(
  store: StagingStore,
  source: SourceId,
  pathOfKey: (key: string) => string,
  keepMs: number,
  log: Logger,
): Promise<RecoveryResult> {
  const names = await store.list()
  const referenced = new Set<string>()
  const winners = new Map<string, { id: string; journal: Journal }>()
  let movedAside = 0
  const aside = async (name: string, why: string, key?: string): Promise<void> => {
    try {
      const dest = await store.moveAside(name)
      movedAside++
      log.warn({ key, file: dest }, `staged file moved to recovered/: ${why}`)
    } catch (err) {
      log.error({ err, name }, 'could not move a staged file aside')
    }
  }

  for (const name of names.filter(n => n.endsWith('.json'))) {
    const id = name.slice(0, -'.json'.length)
    let journal: Journal
    try {
      journal = await store.readJournal(id)
    } catch (err) {
      await aside(name, `its journal cannot be read (${messageOf(err)}); its data was kept`)
      continue
    }
    for (const n of [journal.committed?.data, journal.working]) if (n != null) referenced.add(n)
    if (journal.bucket !== null && (journal.bucket !== source.bucket || journal.prefix !== source.prefix)) {
      log.warn(
        { bucket: journal.bucket, prefix: journal.prefix, key: journal.key },
        'staged data of another source is in this cache directory; mount that source with this cache directory to upload it',
      )
      continue
    }
    if (journal.bucket === null) log.warn({ key: journal.key }, 'a journal of an older version: assuming it belongs to this source')
    const prev = winners.get(journal.key)
    if (prev !== undefined && prev.journal.seq >= journal.seq) {
      await supersede(store, id, journal, prev.journal, log)
      continue
    }
    if (prev !== undefined) await supersede(store, prev.id, prev.journal, journal, log)
    winners.set(journal.key, { id, journal })
  }

  const files: DirtyFile[] = []
  const kept = new Set<string>()
  for (const { id, journal } of winners.values()) {
    try {
      const file = await restore(store, id, journal, pathOfKey, log)
      if (file !== undefined) {
        files.push(file)
        kept.add(journal.committed?.data ?? '')
      } else {
        await store.removeJournal(id, false)
      }
      const working = journal.working
      if (working !== null && working !== journal.committed?.data && names.includes(working)) {
        await aside(working, 'changes that were not closed before the daemon stopped (never uploaded)', journal.key)
      }
      if (file === undefined && journal.committed !== null && names.includes(journal.committed.data)) {
        await aside(journal.committed.data, 'its data is shorter than its journal says; not uploaded', journal.key)
      }
    } catch (err) {
      log.error({ err, key: journal.key }, 'could not recover a staged file; it stays in staging')
      kept.add(journal.committed?.data ?? '')
      kept.add(journal.working ?? '')
    }
  }
  for (const name of names) {
    if (!name.endsWith('.data') || referenced.has(name) || kept.has(name)) continue
    await aside(name, 'a data file no journal names (a write in progress when the daemon stopped)')
  }
  for (const name of names.filter(n => n.endsWith('.tmp'))) await store.removeData(name)
  const pruned = await store.pruneRecovered(keepMs, Date.now())
  if (pruned.length > 0) log.info({ files: pruned.length }, 'removed old files from recovered/')
  return { files, movedAside }
}

async function supersede(store: StagingStore, id: string, journal: Journal, by: Journal, log: Logger): Promise<void> {
  log.info({ key: journal.key, seq: journal.seq, by: by.seq }, 'a staged file was superseded by a later one of the same key')
  await store.removeJournal(id, false)
  for (const n of [journal.committed?.data, journal.working]) {
    if (n != null && n !== by.committed?.data && n !== by.working) await store.removeData(n)
  }
}

async function restore(store: StagingStore, id: string, journal: Journal, pathOfKey: (key: string) => string, log: Logger): Promise<DirtyFile | undefined> {
  const committed = journal.committed
  if (committed === null) return undefined
  const onDisk = await store.sizeOf(committed.data)
  if (onDisk === undefined || onDisk < committed.size) {
    log.error({ key: journal.key, expected: committed.size, found: onDisk ?? 'missing' }, 'a committed staged file is incomplete')
    return undefined
  }
  const handle = await store.openData(committed.data)
  if (onDisk > committed.size) await handle.truncate(committed.size) // the journal is the truth
  // Generation 1 over uploaded 0: dirty, committed, and exactly `committed.size` bytes long.
  const data = new DataFile(committed.data, handle, committed.size, 1, store.budget)
  // A utimens after the last close is in attrs (the file's mtime then); later writes, never closed, are not recovered.
  const unchangedSinceClose = journal.working === null || journal.working === committed.data
  const mtimeMs = unchangedSinceClose ? (journal.attrs?.mtimeMs ?? committed.mtimeMs) : committed.mtimeMs
  const file = new DirtyFile({
    id,
    path: pathOfKey(journal.key),
    key: journal.key,
    store,
    current: data,
    uploadedGeneration: 0,
    mtimeMs,
  })
  file.setCommitted(await file.snapshot())
  file.attrs = journal.attrs ?? {}
  file.journalDurable = true
  return file
}
