/**
 * Rebuilding the disk cache's index at start, in the background: the blocks come from
 * the snapshot the last clean close left (index-snapshot.ts) if it is valid, else from
 * a scan of the directory (index-scan.ts); both add them to the index as they read
 * (`restore`), nothing else holds them. Then the catalog gives the objects their keys
 * (so pins apply) as its lines are read, and the index ranks the restored blocks by
 * when they were stored (`finishRestore`).
 */
import type { Logger } from 'pino'
import type { BlockIndex } from '../block-index.js'
import type { CatalogKeeper } from './catalog-keeper.js'
import { scanBlockFiles } from './index-scan.js'
import { type ClaimedSnapshot, claimSnapshot, loadSnapshot, writeSnapshot } from './index-snapshot.js'

export interface RebuildDeps {
  readonly snapshot: ClaimedSnapshot | undefined
  readonly index: BlockIndex
  readonly blocksDir: string
  readonly catalog: CatalogKeeper
  /** True once the cache is closing: the rebuild stops early (the next start scans again). */
  readonly stopping: () => boolean
  readonly log: Logger
}

/** True when the index is complete; false if it stopped early. */
export async function rebuildIndex(d: RebuildDeps): Promise<boolean> {
  const started = Date.now()
  const fromSnapshot = d.snapshot !== undefined && (await loadSnapshot(d.snapshot, d.index, d.stopping))
  if (d.stopping()) return false
  if (!fromSnapshot) {
    if (d.snapshot !== undefined) d.log.warn('cache index snapshot damaged; scanning the directory')
    if (!(await scanBlockFiles(d.blocksDir, d.index, d.stopping))) return false
  }
  await d.catalog.attachAll()
  if (d.stopping()) return false
  d.index.finishRestore()
  const ix = d.index
  d.log.info(
    { blocks: ix.blocks, usedBytes: ix.usedBytes, pinnedBytes: ix.pinnedBytes, from: fromSnapshot ? 'snapshot' : 'scan', ms: Date.now() - started },
    'cache index ready',
  )
  return true
}

/** The snapshot, claimed at open (see index-snapshot.ts); undefined if there is none or it is unreadable. */
export function claimIndexSnapshot(cacheDir: string, blocksDir: string, log: Logger): Promise<ClaimedSnapshot | undefined> {
  return claimSnapshot(cacheDir, blocksDir).catch((err: unknown) => {
    log.warn({ err }, 'cache index snapshot unreadable; scanning the directory')
    return undefined
  })
}

/** Writes the snapshot at clean close; a failure only means the next start scans. */
export async function saveIndexSnapshot(cacheDir: string, blocksDir: string, index: BlockIndex, log: Logger): Promise<void> {
  const written = await writeSnapshot(cacheDir, blocksDir, index).catch((err: unknown) => {
    log.warn({ err }, 'cache index snapshot not written')
    return false
  })
  if (!written) log.info('no cache index snapshot: the next start scans the directory')
}
