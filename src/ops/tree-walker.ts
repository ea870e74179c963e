/**
 * Walks the mount's tree for the operator commands (`load`, `pin`) through the
 * MetadataStore: directory listings (LIST pages, cached), never a HEAD per file,
 * so a walk also warms the metadata cache for the job that follows.
 *
 * `measure` counts what lies under some paths and remembers only the
 * directories, not the files, so a million-file prefix costs memory per
 * directory; `files` walks them again from the (now cached) listings.
 */
import type { DirEntry, FileEntry } from '../metadata/entry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { isRoot, joinPath } from '../metadata/paths.js'
import { forEachLimit } from '../util/for-each-limit.js'

export interface TreeMeasure {
  readonly files: number
  readonly bytes: number
  /** Bytes of files for which `flag(key)` held (e.g. already pinned). */
  readonly flaggedBytes: number
  /** Directories found (each listed once), parents before children. */
  readonly dirs: readonly string[]
  /** Paths given that are files. */
  readonly singles: ReadonlyArray<{ readonly path: string; readonly entry: FileEntry }>
}

/** `/a/b/` → `/a/b`; drops duplicates and paths inside another path of the list. */
export function normalizePaths(paths: readonly string[]): string[] {
  const clean = [
    ...new Set(
      paths.map(
        p =>
          '/' +
          p
            .split('/')
            .filter(s => s !== '' && s !== '.')
            .join('/'),
      ),
    ),
  ]
  return clean.filter(p => !clean.some(q => q !== p && (isRoot(q) || p.startsWith(q + '/'))))
}

export async function measureTree(
  metadata: MetadataStore,
  paths: readonly string[],
  concurrency: number,
  flag: (key: string) => boolean = () => false,
): Promise<TreeMeasure> {
  let files = 0
  let bytes = 0
  let flaggedBytes = 0
  const dirs: string[] = []
  const singles: Array<{ path: string; entry: FileEntry }> = []
  const countFile = (entry: FileEntry) => {
    files++
    bytes += entry.size
    if (flag(entry.key)) flaggedBytes += entry.size
  }
  let frontier: string[] = []
  for (const path of normalizePaths(paths)) {
    const entry = await metadata.lookup(path)
    if (entry.kind === 'file') {
      singles.push({ path, entry })
      countFile(entry)
    } else frontier.push(path)
  }
  // Breadth first, a level at a time, with a few listings in flight.
  while (frontier.length > 0) {
    dirs.push(...frontier)
    const next: string[] = []
    await forEachLimit(frontier, concurrency, async dir => {
      for (const [name, child] of (await metadata.readdir(dir)).children) {
        if (child.kind === 'dir') next.push(joinPath(dir, name))
        else countFile(child)
      }
    })
    frontier = next
  }
  return { files, bytes, flaggedBytes, dirs, singles }
}

/** The files of a measured tree, from the listings `measure` cached. */
export async function* filesOf(metadata: MetadataStore, m: TreeMeasure): AsyncGenerator<{ path: string; entry: FileEntry }> {
  yield* m.singles
  for (const dir of m.dirs) {
    let children: ReadonlyMap<string, FileEntry | DirEntry>
    try {
      children = (await metadata.readdir(dir)).children
    } catch {
      continue // the directory vanished since it was measured
    }
    for (const [name, child] of children) if (child.kind === 'file') yield { path: joinPath(dir, name), entry: child }
  }
}
