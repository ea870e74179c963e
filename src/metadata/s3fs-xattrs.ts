/**
 * Extended attributes stored as s3fs-fuse stores them (its `use_xattr` option): one user
 * metadata header, `x-amz-meta-xattr`, whose value is the URL-encoded text
 * `{"name":"base64(value)",…}` with names in byte order. Either tool reads what the other wrote.
 *
 * Pure functions over that one string; AttributeOps reads and writes it with the other
 * s3fs headers (PosixAttributes.xattr). S3 limits all user metadata of an object to 2 KiB,
 * which bounds what one object can hold (E2BIG past it, checked where the headers are built).
 */
import { encodeKeyPath } from '../s3/key-path.js'

/** Linux's XATTR_CREATE and XATTR_REPLACE flags of setxattr(2). */
export const XATTR_CREATE = 1
export const XATTR_REPLACE = 2

/** S3's limit on all user metadata of one object: the UTF-8 bytes of every name and value. */
export const USER_METADATA_MAX = 2048

/** Whether s3fs's format can hold `name`: it has no escapes, so `"` and `,` would split it. */
export function storableName(name: string): boolean {
  return name !== '' && !/[",]/.test(name)
}

/** The size S3 counts against USER_METADATA_MAX. */
export function userMetadataSize(metadata: Readonly<Record<string, string>>): number {
  let n = 0
  for (const [k, v] of Object.entries(metadata)) n += Buffer.byteLength(k) + Buffer.byteLength(v)
  return n
}

/** The name → value map a header holds; an absent, empty or malformed header holds none. */
export function parseXattrs(header: string | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  if (header === undefined || header === '') return out
  let text: string
  try {
    text = decodeURIComponent(header)
  } catch {
    return out
  }
  const start = text.indexOf('{')
  const end = text.lastIndexOf('}')
  if (start < 0 || end <= start) return out
  // s3fs's own reader: pairs split at ',', each at its last ':', both sides in double quotes.
  for (const pair of text.slice(start + 1, end).split(',')) {
    const colon = pair.lastIndexOf(':')
    if (colon < 0) continue
    const name = unquote(pair.slice(0, colon))
    const value = unquote(pair.slice(colon + 1))
    if (name === undefined || value === undefined || name === '') continue
    out.set(name, Buffer.from(value, 'base64'))
  }
  return out
}

/** The header for `xattrs`: '' when there are none (the header is then removed, as s3fs removes it). */
export function buildXattrs(xattrs: ReadonlyMap<string, Buffer>): string {
  if (xattrs.size === 0) return ''
  const names = [...xattrs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const body = names.map(name => `"${name}":"${(xattrs.get(name) ?? Buffer.alloc(0)).toString('base64')}"`).join(',')
  return encodeKeyPath(`{${body}}`) // s3fs's urlEncodePath
}

function unquote(text: string): string | undefined {
  const t = text.trim()
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : undefined
}
