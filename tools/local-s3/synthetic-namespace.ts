/**
 * The generated namespace served by the synthetic S3 server (synthetic-s3-server.ts):
 * N objects `<prefix>d<dir, 5 digits>/f<index, 8 digits>.bin`, `perDirectory` to a
 * directory, each with a size and content computed from its index and key: nothing is
 * stored, any object or listing page costs O(log N) to find.
 *
 * INVARIANT: key(i) < key(i + 1) in S3's (UTF-8 byte) order, because every key is ASCII
 * and its numbers are zero-padded and both grow with i, so index order is listing order.
 *
 * Content: the key and a newline (so no two objects are equal), then a window into a
 * 1 MiB pseudo-random pattern starting at an offset taken from the key's hash, wrapping.
 * Served as slices of the pattern (no copy, no per-request allocation of the body).
 */
export interface SyntheticNamespaceOptions {
  /** Objects in the namespace. */
  readonly objects: number
  /** Objects per directory (ImageNet: ~1,300 per class). */
  readonly perDirectory: number
  /** Key prefix of every object, '' or ending in '/'. Default `train/`. */
  readonly prefix?: string
  /** Smallest and largest object size in bytes (uniform between them, from the index). */
  readonly minBytes: number
  readonly maxBytes: number
  /** Changes every ETag and byte at once (a new "version" of the dataset). Default 1. */
  readonly seed?: number
}

/** The pattern the bodies are windows into: 1 MiB, written twice so a window never wraps within one slice. */
const PATTERN_BYTES = 1 << 20
/** Every object's Last-Modified: fixed, so listings are stable across runs. */
export const SYNTHETIC_LAST_MODIFIED = new Date('2025-01-01T00:00:00.000Z')

export class SyntheticNamespace {
  readonly objects: number
  readonly perDirectory: number
  readonly prefix: string
  readonly #minBytes: number
  readonly #spanBytes: number
  readonly #seed: number
  readonly #pattern: Buffer

  constructor(o: SyntheticNamespaceOptions) {
    if (!(o.objects >= 0 && o.objects < 1e8 && o.perDirectory >= 1 && o.minBytes >= 0 && o.maxBytes >= o.minBytes)) {
      throw new RangeError('synthetic namespace: need 0 ≤ objects < 1e8, perDirectory ≥ 1, 0 ≤ minBytes ≤ maxBytes')
    }
    this.objects = o.objects
    this.perDirectory = o.perDirectory
    this.prefix = o.prefix ?? 'train/'
    this.#minBytes = o.minBytes
    this.#spanBytes = o.maxBytes - o.minBytes + 1
    this.#seed = o.seed ?? 1
    this.#pattern = makePattern(this.#seed)
  }

  key(i: number): string {
    return `${this.prefix}d${pad(Math.floor(i / this.perDirectory), 5)}/f${pad(i, 8)}.bin`
  }

  size(i: number): number {
    return this.#minBytes + (mix32(i ^ Math.imul(this.#seed, 0x9e3779b1)) % this.#spanBytes)
  }

  /** The index of `key`, or -1 when it is not an object here. */
  indexOf(key: string): number {
    const m = /f(\d{8})\.bin$/.exec(key)
    const i = m === null ? -1 : Number(m[1])
    return i >= 0 && i < this.objects && this.key(i) === key ? i : -1
  }

  /** The first index whose key is ≥ `key` (objects when none). */
  lowerBound(key: string): number {
    let lo = 0
    let hi = this.objects
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.key(mid) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * One ListObjectsV2 page: objects (by index) and common prefixes after `after` (a key,
   * or a common prefix to skip whole when `skipPrefix`), at most `maxKeys` in all.
   */
  list(prefix: string, delimiter: string, after: string, maxKeys: number, skipPrefix: boolean): SyntheticPage {
    let i = this.lowerBound(prefix >= after ? prefix : skipPrefix && delimiter !== '' && after.endsWith(delimiter) ? successor(after) : after)
    if (i < this.objects && this.key(i) === after) i++
    const objects: number[] = []
    const prefixes: string[] = []
    let last = ''
    while (i < this.objects && objects.length + prefixes.length < maxKeys) {
      const key = this.key(i)
      if (!key.startsWith(prefix)) break
      const d = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length)
      if (d >= 0) {
        last = key.slice(0, d + delimiter.length)
        prefixes.push(last)
        i = this.lowerBound(successor(last))
        continue
      }
      last = key
      objects.push(i++)
    }
    const truncated = maxKeys > 0 && i < this.objects && this.key(i).startsWith(prefix)
    return { objects, prefixes, ...(truncated ? { last } : {}) }
  }

  /**
   * A stable ETag: a hash of seed, index and size, in the form of a one-part multipart
   * upload's ETag (`"<32 hex>-1"`). Not the MD5 of the body, and so not written like one: a
   * plain 32-hex ETag is the content's MD5 on S3, and clients (ours) check it.
   */
  etag(i: number): string {
    let h = mix32(i ^ Math.imul(this.#seed, 0x27d4eb2f)) ^ this.size(i)
    let hex = ''
    for (let k = 0; k < 4; k++) {
      h = mix32(h + k + 1)
      hex += h.toString(16).padStart(8, '0')
    }
    return `"${hex}-1"`
  }

  /** Bytes [start, end) of object i as slices to send in order (no copy of the pattern). */
  slices(i: number, start: number, end: number): Buffer[] {
    const key = this.key(i)
    const head = Buffer.from(key + '\n')
    const out: Buffer[] = []
    let pos = start
    if (pos < head.length && pos < end) {
      out.push(head.subarray(pos, Math.min(end, head.length)))
      pos = Math.min(end, head.length)
    }
    const base = mix32(fnv1a(key)) % PATTERN_BYTES
    while (pos < end) {
      const at = (base + pos - head.length) % PATTERN_BYTES
      const n = Math.min(end - pos, PATTERN_BYTES)
      out.push(this.#pattern.subarray(at, at + n))
      pos += n
    }
    return out
  }

  /** The whole body of object i, as one buffer (tests, and uploading the same bytes elsewhere). */
  body(i: number): Buffer {
    return Buffer.concat(this.slices(i, 0, this.size(i)))
  }
}

export interface SyntheticPage {
  /** Indices of the objects listed, in order. */
  readonly objects: number[]
  readonly prefixes: string[]
  /** Present when truncated: the last key or common prefix returned, to resume after. */
  readonly last?: string
}

/** The smallest string greater than every string starting with `s` (keys are ASCII here). */
function successor(s: string): string {
  return s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) + 1)
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

export function makePattern(seed: number): Buffer {
  const half = Buffer.allocUnsafe(PATTERN_BYTES)
  let x = mix32(seed) | 1
  for (let o = 0; o < PATTERN_BYTES; o += 4) {
    // xorshift32: fast, deterministic, and incompressible enough for a cache test.
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    half.writeInt32LE(x | 0, o)
  }
  return Buffer.concat([half, half])
}

function mix32(v: number): number {
  let h = v | 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193)
  return h >>> 0
}
