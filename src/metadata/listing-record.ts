/**
 * The records of the local listing manifest (persistent-listing-manifest.ts), one per line:
 *   listing: `{"p":path,"t":listedAtMs,"x":expiresAtMs|null,"n":bodyBytes,"c":crc32}` TAB body LF
 *            where body is the JSON array of `EntryRow`s (entry.ts);
 *   removal: `{"p":path,"d":1}` LF.
 * JSON never contains a raw tab or newline, so a header is found without parsing its body.
 */
import { crc32 } from '../util/crc32.js'
import { entryOf, rowOf, type EntryRow } from './entry.js'
import type { SharedListing } from './listing-manifest.js'

export const TAB = 0x09
export const LF = 0x0a

export interface Header {
  readonly p: string
  readonly t?: number
  readonly x?: number | null
  readonly n?: number
  readonly c?: number
  readonly d?: 1
}

export function parseHeader(bytes: Buffer): Header | undefined {
  try {
    const h = JSON.parse(bytes.toString('utf8')) as Header
    return typeof h.p === 'string' ? h : undefined
  } catch {
    return undefined
  }
}

export function encodeListing(path: string, listing: SharedListing, expiresAtMs: number): Buffer {
  const body = Buffer.from(JSON.stringify(listing.children.map(([name, e]) => rowOf(name, e))))
  const header: Header = { p: path, t: listing.listedAtMs, x: Number.isFinite(expiresAtMs) ? expiresAtMs : null, n: body.length, c: crc32(body) }
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\t'), body, Buffer.from('\n')])
}

/** The listing in one record, or undefined when it is not the record of `path` or fails its checks. */
export function decodeListing(record: Buffer, path: string): SharedListing | undefined {
  const tab = record.indexOf(TAB)
  const header = tab < 0 ? undefined : parseHeader(record.subarray(0, tab))
  if (header === undefined || header.p !== path || header.t === undefined || record[record.length - 1] !== LF) return undefined
  const body = record.subarray(tab + 1, record.length - 1)
  if (body.length !== header.n || crc32(body) !== header.c) return undefined
  const rows = JSON.parse(body.toString('utf8')) as EntryRow[]
  return { listedAtMs: header.t, children: rows.map(row => [row[0], entryOf(row)] as const) }
}
