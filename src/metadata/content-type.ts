/**
 * The Content-Type an upload stores, chosen by the key's extension from the system's
 * `/etc/mime.types` (Debian's `media-types`), as s3fs-fuse does, so that objects written
 * through the mount serve with a sensible type over HTTP (`.txt` → text/plain). Unknown
 * extensions, or no table: undefined, and the store's default applies (S3:
 * binary/octet-stream). The table is read once, synchronously, at first use (~70 KB).
 * A renamed object's type follows its new name when it came from its old one (namespace-changes.ts).
 */
import { readFileSync } from 'node:fs'

const MIME_TYPES_FILE = '/etc/mime.types'
let table: Map<string, string> | undefined

function load(): Map<string, string> {
  const map = new Map<string, string>()
  let text = ''
  try {
    text = readFileSync(MIME_TYPES_FILE, 'utf8')
  } catch {
    return map
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const [type, ...exts] = line.trim().split(/\s+/)
    if (type === undefined || type === '') continue
    for (const ext of exts) if (!map.has(ext)) map.set(ext.toLowerCase(), type)
  }
  return map
}

/** Defined with the s3fs attributes (directory markers). */
export { DIRECTORY_CONTENT_TYPE } from './s3fs-attributes.js'

export function contentTypeFor(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || dot === name.length - 1) return undefined
  table ??= load()
  return table.get(name.slice(dot + 1).toLowerCase())
}

/** What s3fs-fuse stores for a name without a known type, and what a store stores when given none (S3: binary/octet-stream). */
export const UNKNOWN_CONTENT_TYPE = 'application/octet-stream'
const STORE_DEFAULT_TYPES: ReadonlySet<string> = new Set([UNKNOWN_CONTENT_TYPE, 'binary/octet-stream'])

/**
 * Whether renaming `fromKey` to `toKey` may change the object's Content-Type: only when the two
 * names give different types (else a plain copy keeps it, and nothing needs to be read).
 */
export function typeMayChangeOnRename(fromKey: string, toKey: string): boolean {
  return (contentTypeFor(fromKey) ?? UNKNOWN_CONTENT_TYPE) !== (contentTypeFor(toKey) ?? UNKNOWN_CONTENT_TYPE)
}

/**
 * The Content-Type an object stored with type `stored` gets when renamed from `fromKey` to
 * `toKey`, or undefined when it keeps `stored`. A type that came from the old name (or the
 * store's default for a name without one) follows the new name, as s3fs-fuse's copy does:
 * `mv notes.txt notes.csv` serves text/csv, `mv big.txt big.txt-copy` application/octet-stream.
 * A type another client chose for the object (`image/png` on `a.txt`) stays.
 */
export function contentTypeAfterRename(fromKey: string, toKey: string, stored: string | undefined): string | undefined {
  const before = contentTypeFor(fromKey)
  const after = contentTypeFor(toKey) ?? UNKNOWN_CONTENT_TYPE
  const fromName = before !== undefined ? stored === before : stored === undefined || STORE_DEFAULT_TYPES.has(stored)
  return fromName && stored !== after ? after : undefined
}
