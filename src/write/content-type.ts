/**
 * The Content-Type an upload stores, chosen by the key's extension from the system's
 * `/etc/mime.types` (Debian's `media-types`), as s3fs-fuse does, so that objects written
 * through the mount serve with a sensible type over HTTP (`.txt` → text/plain). Unknown
 * extensions, or no table: undefined, and the store's default applies (S3:
 * binary/octet-stream). The table is read once, synchronously, at first use (~70 KB).
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

/** Kept with the s3fs attributes (the metadata layer's namespace changes write markers too). */
export { DIRECTORY_CONTENT_TYPE } from '../metadata/s3fs-attributes.js'

export function contentTypeFor(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || dot === name.length - 1) return undefined
  table ??= load()
  return table.get(name.slice(dot + 1).toLowerCase())
}
