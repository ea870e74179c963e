/**
 * One page of a bucket listing, read straight from s3rver's on-disk layout
 * with S3's semantics, replacing s3rver's FilesystemStore.listObjects.
 *
 * s3rver stores key `a/b/c` as the file `<bucket>/a/b/c._S3rver_object` (plus
 * `.md5` and `._S3rver_metadata.json` siblings), so a key's '/'-separated
 * parts are directories. Its own listing walks that tree in directory order
 * and prunes every directory below a common prefix, which loses prefixes that
 * hold only sub-prefixes, orders `a/b` before `a-c`, and counts only keys
 * against MaxKeys. Here:
 * - keys come out in UTF-8 byte order, as S3 sorts them: each directory's
 *   entries are sorted with a directory standing for the key range `name/…`
 *   (every key below it starts with `name/`, so no sibling falls inside it);
 * - with a delimiter, keys are rolled up into common prefixes, and a
 *   directory whose own path already contains the delimiter after the prefix
 *   is answered as one common prefix (if it holds any object) without walking it;
 * - the marker (StartAfter, ContinuationToken, v1 Marker) is an exclusive
 *   bound on the rolled-up entries, as Ceph RGW and moto implement S3: a
 *   marker inside a common prefix skips that whole prefix;
 * - a page stops after maxEntries entries, keys and common prefixes together;
 * - a segment stored under a hashed name is named by its sidecar (long-segments.ts).
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { realSegment } from './long-segments.js'

const OBJECT_SUFFIX = '._S3rver_object'
const UPLOADS_DIR = '._S3rver_uploads' // multipart parts in flight, at the bucket root

export interface ListingQuery {
  prefix: string
  /** '' means no delimiter. */
  delimiter: string
  /** Exclusive: entries (keys or common prefixes) sorting at or before it are skipped. '' for none. */
  marker: string
  /** Entries per page, keys and common prefixes together; at least 1. */
  maxEntries: number
}

export interface ListingEntry {
  kind: 'key' | 'prefix'
  name: string
}

export interface ListingPage {
  entries: ListingEntry[]
  isTruncated: boolean
}

interface DirItem {
  /** For a file, its key; for a directory, the key prefix `…/name/` shared by everything below it. */
  key: string
  isDir: boolean
  fsPath: string
}

// Below U+D800, UTF-16 code-unit order equals code-point order, which equals UTF-8 byte order.
const BEYOND_PLAIN_ORDER = /[\ud800-\uffff]/

/** Compares as S3 does: by the UTF-8 bytes of the strings. */
function compareUtf8(a: string, b: string): number {
  if (!BEYOND_PLAIN_ORDER.test(a) && !BEYOND_PLAIN_ORDER.test(b)) return a < b ? -1 : a > b ? 1 : 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

export async function listBucketPage(bucketPath: string, query: ListingQuery): Promise<ListingPage> {
  const entries: ListingEntry[] = []
  for await (const entry of walk(bucketPath, '', query)) {
    const last = entries.at(-1)
    // Keys sharing a common prefix are contiguous in key order, so one look back dedupes.
    if (entry.kind === 'prefix' && last?.kind === 'prefix' && last.name === entry.name) continue
    if (entries.length === query.maxEntries) return { entries, isTruncated: true }
    entries.push(entry)
  }
  return { entries, isTruncated: false }
}

async function* walk(dirPath: string, dirKey: string, query: ListingQuery): AsyncGenerator<ListingEntry> {
  for (const item of await readSortedDir(dirPath, dirKey)) {
    if (item.isDir) {
      yield* walkSubtree(item, query)
    } else {
      const entry = entryForKey(item.key, query)
      if (entry !== undefined) yield entry
    }
  }
}

async function* walkSubtree(dir: DirItem, query: ListingQuery): AsyncGenerator<ListingEntry> {
  const subtree = dir.key
  if (!subtree.startsWith(query.prefix) && !query.prefix.startsWith(subtree)) return
  if (whollyAtOrBefore(subtree, query.marker)) return
  const rolledUp = subtreeCommonPrefix(subtree, query)
  if (rolledUp === undefined) {
    yield* walk(dir.fsPath, subtree, query)
  } else if (compareUtf8(rolledUp, query.marker) > 0 && (await holdsObject(dir.fsPath))) {
    yield { kind: 'prefix', name: rolledUp }
  }
}

function entryForKey(key: string, query: ListingQuery): ListingEntry | undefined {
  if (!key.startsWith(query.prefix)) return undefined
  const rolledUp = commonPrefixOf(key, query)
  const entry: ListingEntry = rolledUp === undefined ? { kind: 'key', name: key } : { kind: 'prefix', name: rolledUp }
  return compareUtf8(entry.name, query.marker) > 0 ? entry : undefined
}

/** The common prefix a key rolls up into, if a delimiter follows the prefix. */
function commonPrefixOf(key: string, query: ListingQuery): string | undefined {
  if (query.delimiter === '') return undefined
  const at = key.indexOf(query.delimiter, query.prefix.length)
  return at === -1 ? undefined : key.slice(0, at + query.delimiter.length)
}

/**
 * The common prefix every key under `subtree` rolls up into, when the
 * subtree's own path already fixes it: the first delimiter after the prefix
 * lies wholly inside the path. (An occurrence straddling the end of the path
 * could differ per key, so then the subtree is walked.)
 */
function subtreeCommonPrefix(subtree: string, query: ListingQuery): string | undefined {
  if (query.delimiter === '' || !subtree.startsWith(query.prefix)) return undefined
  const at = subtree.indexOf(query.delimiter, query.prefix.length)
  if (at === -1 || at + query.delimiter.length > subtree.length) return undefined
  return subtree.slice(0, at + query.delimiter.length)
}

/** True when every key starting with `subtree` sorts at or before the marker. */
function whollyAtOrBefore(subtree: string, marker: string): boolean {
  return marker !== '' && compareUtf8(subtree, marker) < 0 && !marker.startsWith(subtree)
}

async function readSortedDir(dirPath: string, dirKey: string): Promise<DirItem[]> {
  let dirents
  try {
    dirents = await readdir(dirPath, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] // removed by a concurrent delete
    throw err
  }
  const items: DirItem[] = []
  for (const dirent of dirents) {
    const fsPath = path.join(dirPath, dirent.name)
    if (dirent.isDirectory()) {
      if (dirKey === '' && dirent.name === UPLOADS_DIR) continue
      const name = await realSegment(dirPath, dirent.name)
      if (name !== undefined) items.push({ key: `${dirKey}${name}/`, isDir: true, fsPath })
    } else if (dirent.isFile() && dirent.name.endsWith(OBJECT_SUFFIX)) {
      const name = await realSegment(dirPath, dirent.name.slice(0, -OBJECT_SUFFIX.length))
      if (name !== undefined) items.push({ key: dirKey + name, isDir: false, fsPath })
    }
  }
  return items.sort((a, b) => compareUtf8(a.key, b.key))
}

/** Whether any object lives below this directory (s3rver can leave empty directories behind). */
async function holdsObject(dirPath: string): Promise<boolean> {
  let dirents
  try {
    dirents = await readdir(dirPath, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  if (dirents.some(d => d.isFile() && d.name.endsWith(OBJECT_SUFFIX))) return true
  for (const dirent of dirents) {
    if (dirent.isDirectory() && (await holdsObject(path.join(dirPath, dirent.name)))) return true
  }
  return false
}
