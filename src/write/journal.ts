/**
 * The journal of one staged file: the truth for everything not yet in the bucket.
 *
 * One JSON file per DirtyFile (`<id>.json` in the staging directory), rewritten on
 * every state change. Recovery trusts nothing else: it uploads exactly
 * `committed.size` bytes of `committed.data` to `key` in `bucket`/`prefix`, and
 * never uploads `working` (changes nobody closed). `seq` orders journals that name
 * the same key (a rename onto a staged file): the highest wins.
 */
export const JOURNAL_VERSION = 2

/**
 * The attributes an upload stores as s3fs headers (mode, owners, times; see
 * src/metadata/s3fs-attributes.ts): journaled so that a file recovered after a crash keeps
 * them. Optional: journals written before they were carried have none (the upload then stores
 * the defaults, as it did).
 */
export interface JournaledAttributes {
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly mtimeMs?: number
  readonly atimeMs?: number
  readonly ctimeMs?: number
  /** s3fs's extended-attributes header (`--xattr`), as PosixAttributes.xattr. */
  readonly xattr?: string
}

export interface SourceId {
  readonly bucket: string
  /** '' or a prefix ending in '/'. */
  readonly prefix: string
}

export interface CommittedGeneration {
  /** Name of the data file in the staging directory; never changed while committed. */
  readonly data: string
  readonly size: number
  readonly mtimeMs: number
}

export interface Journal {
  readonly version: typeof JOURNAL_VERSION
  readonly seq: number
  /** null only for journals written before version 2 (assumed to be this mount's source). */
  readonly bucket: string | null
  readonly prefix: string | null
  readonly key: string
  /** The latest closed content not known to be in the bucket. */
  readonly committed: CommittedGeneration | null
  /** The data file writers are changing now: moved aside by recovery, never uploaded. */
  readonly working: string | null
  readonly attrs?: JournaledAttributes
}

class JournalFormatError extends Error {}

let lastSeq = 0

/** A number greater than every earlier one, in this process and (by the clock) in earlier daemons. */
export function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000)
  return lastSeq
}

const DATA_NAME = /^[0-9a-f]{8,64}\.data$/

function isGeneration(v: unknown): v is CommittedGeneration {
  const g = v as CommittedGeneration
  return (
    typeof g === 'object' &&
    g !== null &&
    typeof g.data === 'string' &&
    DATA_NAME.test(g.data) &&
    Number.isSafeInteger(g.size) &&
    g.size >= 0 &&
    typeof g.mtimeMs === 'number'
  )
}

const ATTRIBUTE_FIELDS = new Set(['mode', 'uid', 'gid', 'mtimeMs', 'atimeMs', 'ctimeMs'])

function isAttributes(v: unknown): v is JournaledAttributes {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).every(([k, x]) =>
      k === 'xattr' ? typeof x === 'string' : ATTRIBUTE_FIELDS.has(k) && typeof x === 'number' && Number.isFinite(x) && x >= 0,
    )
  )
}

/** Parses a journal file's text; `id` names the file (version 1 journals implied `<id>.data`). */
export function parseJournal(text: string, id: string): Journal {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new JournalFormatError('not JSON')
  }
  if (typeof raw !== 'object' || raw === null || typeof raw.key !== 'string' || raw.key === '') throw new JournalFormatError('no key')
  if (raw.version === 1) {
    // Version 1: { key, state: 'open'|'closed', size, mtimeMs }, data in <id>.data.
    const size = raw.size
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw new JournalFormatError('bad size')
    const data = `${id}.data`
    const committed = raw.state === 'closed' ? { data, size: size as number, mtimeMs: Number(raw.mtimeMs) || Date.now() } : null
    return { version: JOURNAL_VERSION, seq: 0, bucket: null, prefix: null, key: raw.key, committed, working: committed === null ? data : null }
  }
  if (raw.version !== JOURNAL_VERSION) throw new JournalFormatError(`unknown version ${String(raw.version)}`)
  if (typeof raw.bucket !== 'string' || typeof raw.prefix !== 'string' || !Number.isSafeInteger(raw.seq)) throw new JournalFormatError('no source')
  if (raw.committed !== null && !isGeneration(raw.committed)) throw new JournalFormatError('bad committed generation')
  if (raw.working !== null && (typeof raw.working !== 'string' || !DATA_NAME.test(raw.working))) throw new JournalFormatError('bad working file')
  if (raw.attrs !== undefined && !isAttributes(raw.attrs)) throw new JournalFormatError('bad attributes')
  return raw as unknown as Journal
}
