/**
 * The pure rules of a GetObject/HeadObject as real S3 applies them: which
 * conditional headers hold (RFC 7232 order) and which bytes a Range header
 * selects (RFC 7233, one range only). get-object.ts turns the outcomes into
 * responses; keeping them here lets them be read and tested without HTTP.
 *
 * s3rver gets both wrong: it ignores If-Match and If-Unmodified-Since, reads
 * `bytes=-100` as 0–100 and `bytes=0-0` as the whole object (the end `0` is
 * falsy), and promises one byte of a 0-byte object.
 */

export interface ConditionalHeaders {
  ifMatch?: string | undefined
  ifNoneMatch?: string | undefined
  ifModifiedSince?: string | undefined
  ifUnmodifiedSince?: string | undefined
}

export type PreconditionOutcome = { outcome: 'proceed' } | { outcome: 'notModified' } | { outcome: 'failed'; condition: 'If-Match' | 'If-Unmodified-Since' }

export type RangeOutcome =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number } // end inclusive, end < size
  | { kind: 'unsatisfiable' }

function bareTag(tag: string): string {
  const trimmed = tag.trim().replace(/^W\//, '')
  return trimmed.startsWith('"') && trimmed.endsWith('"') && trimmed.length >= 2 ? trimmed.slice(1, -1) : trimmed
}

/** Whether an If-Match / If-None-Match list names this ETag ('*' names any existing object). */
function etagListMatches(list: string, etag: string): boolean {
  if (list.trim() === '*') return true
  const wanted = bareTag(etag)
  return list.split(',').some(tag => bareTag(tag) === wanted)
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms // S3, like RFC 7232, ignores an unparsable date
}

/**
 * RFC 7232 §6 order, which is also S3's documented precedence: If-Match (else
 * If-Unmodified-Since) can fail with 412; then If-None-Match (else
 * If-Modified-Since) can answer 304. Last-Modified has whole seconds.
 */
export function evaluatePreconditions(h: ConditionalHeaders, etag: string, lastModified: Date): PreconditionOutcome {
  const modifiedMs = Math.floor(lastModified.getTime() / 1000) * 1000
  if (h.ifMatch !== undefined) {
    if (!etagListMatches(h.ifMatch, etag)) return { outcome: 'failed', condition: 'If-Match' }
  } else {
    const unmodifiedSince = parseHttpDate(h.ifUnmodifiedSince)
    if (unmodifiedSince !== undefined && modifiedMs > unmodifiedSince) {
      return { outcome: 'failed', condition: 'If-Unmodified-Since' }
    }
  }
  if (h.ifNoneMatch !== undefined) {
    if (etagListMatches(h.ifNoneMatch, etag)) return { outcome: 'notModified' }
  } else {
    const modifiedSince = parseHttpDate(h.ifModifiedSince)
    if (modifiedSince !== undefined && modifiedMs <= modifiedSince) return { outcome: 'notModified' }
  }
  return { outcome: 'proceed' }
}

/**
 * Resolves a Range header against an object size as S3 does:
 * `bytes=a-b` is inclusive and clamped to the size, `bytes=a-` runs to the end,
 * `bytes=-n` is the last n bytes (the whole object when n ≥ size); a range
 * starting at or after the size — so any range of a 0-byte object — and
 * `bytes=-0` are unsatisfiable (416). A header S3 cannot use (another unit,
 * several ranges, end before start, garbage) is ignored: the whole object, 200.
 */
export function resolveRange(header: string | undefined, size: number): RangeOutcome {
  if (header === undefined) return { kind: 'whole' }
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return { kind: 'whole' }
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return { kind: 'whole' }
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  if (end < start) return last === '' ? { kind: 'unsatisfiable' } : { kind: 'whole' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}
