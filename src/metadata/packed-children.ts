/**
 * The children of one listed directory, packed: what a LIST page said of each child kept in
 * a few typed arrays and one string per listing instead of an object, two strings and a Map
 * slot per child. At 1.28 M files this is what keeps the metadata of a whole dataset in
 * memory (docs/ARCHITECTURE.md, "Scale": bytes per entry).
 *
 * Layout (child i, in S3 order): its name is `#names.slice(#nameEnd[i-1], #nameEnd[i])`; kind
 * (file or dir), size and mtime in typed arrays; an ETag of 32 lowercase hex digits with an
 * optional `-N` part count as 16 bytes plus an Int32 (any other ETag keeps its string). A
 * file's key is the directory's prefix + name, a directory's prefix that + `/`, as the store
 * lists them. Entries are built on each `get` (a lookup's garbage, never kept).
 * Lookup by name is a binary search, so the packed order must be code-unit order: `pack`
 * refuses (returns undefined: the caller keeps a Map) listings whose S3 (UTF-8) order
 * differs from it, and children with attributes.
 * Changes through the mount (`set`, `delete`) go to a small overlay Map; iteration shows
 * packed children first, then names added, as a Map of the same history would.
 */
import type { DirEntry, Entry } from './entry.js'

const FILE = 0
const DIR = 1
const HEX_ETAG = /^[0-9a-f]{32}(?:-([1-9][0-9]{0,8}))?$/
/** A child deleted through the mount (overlay value). */
const GONE = null

export class PackedChildren implements ReadonlyMap<string, Entry> {
  readonly #prefix: string
  readonly #names: string
  readonly #nameEnd: Uint32Array
  readonly #kind: Uint8Array
  /** Packed children that are directories. */
  readonly #dirs: number
  readonly #size: Float64Array
  readonly #mtimeMs: Float64Array
  /** 16 bytes per child; unused for directories and for ETags kept as strings. */
  readonly #etag: Buffer
  /** Part count of a multipart ETag; 0 none; -1: the ETag is in #etagStrings. */
  readonly #parts: Int32Array
  readonly #etagStrings: Map<number, string> | undefined
  #overlay: Map<string, Entry | typeof GONE> | undefined
  #size_ = 0

  private constructor(
    prefix: string,
    names: string,
    nameEnd: Uint32Array,
    kind: Uint8Array,
    dirs: number,
    size: Float64Array,
    mtimeMs: Float64Array,
    etag: Buffer,
    parts: Int32Array,
    etagStrings: Map<number, string> | undefined,
  ) {
    this.#prefix = prefix
    this.#names = names
    this.#nameEnd = nameEnd
    this.#kind = kind
    this.#dirs = dirs
    this.#size = size
    this.#mtimeMs = mtimeMs
    this.#etag = etag
    this.#parts = parts
    this.#etagStrings = etagStrings
    this.#size_ = nameEnd.length
  }

  /** Packs the children of the directory whose key prefix is `prefix`, or undefined when they do not fit the layout. */
  static pack(prefix: string, children: ReadonlyMap<string, Entry> | ReadonlyArray<readonly [string, Entry]>): PackedChildren | undefined {
    const list = Array.isArray(children) ? (children as ReadonlyArray<readonly [string, Entry]>) : [...(children as ReadonlyMap<string, Entry>)]
    const n = list.length
    const nameEnd = new Uint32Array(n)
    const kind = new Uint8Array(n)
    const size = new Float64Array(n)
    const mtimeMs = new Float64Array(n)
    const etag = Buffer.alloc(16 * n)
    const parts = new Int32Array(n)
    let etagStrings: Map<number, string> | undefined
    const names: string[] = []
    let chars = 0
    let dirs = 0
    let previous = ''
    for (let i = 0; i < n; i++) {
      const [name, e] = list[i] as readonly [string, Entry]
      if (e.attrs !== undefined || (i > 0 && !(previous < name)) || hasSurrogates(name)) return undefined
      previous = name
      names.push(name)
      chars += name.length
      nameEnd[i] = chars
      mtimeMs[i] = e.mtimeMs
      if (e.kind === 'dir') {
        if (e.prefix !== prefix + name + '/') return undefined
        kind[i] = DIR
        dirs++
        continue
      }
      if (e.key !== prefix + name) return undefined
      kind[i] = FILE
      size[i] = e.size
      const m = HEX_ETAG.exec(e.etag)
      if (m === null) {
        ;(etagStrings ??= new Map()).set(i, e.etag)
        parts[i] = -1
      } else {
        etag.write(e.etag.slice(0, 32), 16 * i, 'hex')
        parts[i] = m[1] === undefined ? 0 : Number(m[1])
      }
    }
    // join makes one flat string (`+=` would build a tree of pieces).
    return new PackedChildren(prefix, names.join(''), nameEnd, kind, dirs, size, mtimeMs, etag, parts, etagStrings)
  }

  get size(): number {
    return this.#size_
  }

  get(name: string): Entry | undefined {
    const o = this.#overlay?.get(name)
    if (o !== undefined) return o ?? undefined
    const i = this.#find(name)
    return i < 0 ? undefined : this.#entry(i)
  }

  has(name: string): boolean {
    return this.get(name) !== undefined
  }

  set(name: string, entry: Entry): this {
    const had = this.has(name)
    ;(this.#overlay ??= new Map()).set(name, entry)
    if (!had) this.#size_++
    return this
  }

  delete(name: string): boolean {
    if (!this.has(name)) return false
    if (this.#find(name) >= 0) (this.#overlay ??= new Map()).set(name, GONE)
    else this.#overlay?.delete(name)
    this.#size_--
    return true
  }

  /** Children that are directories (getattr's link count), without building entries. */
  dirCount(): number {
    let n = this.#dirs
    for (const [name, o] of this.#overlay ?? []) {
      const i = this.#find(name)
      if (i >= 0 && this.#kind[i] === DIR) n--
      if (o !== GONE && o.kind === 'dir') n++
    }
    return n
  }

  *entries(): MapIterator<[string, Entry]> {
    const overlay = this.#overlay
    for (let i = 0; i < this.#nameEnd.length; i++) {
      const name = this.#name(i)
      const o = overlay?.get(name)
      if (o === GONE) continue
      yield [name, o ?? this.#entry(i)]
    }
    if (overlay !== undefined) for (const [name, o] of overlay) if (o !== GONE && this.#find(name) < 0) yield [name, o]
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name
  }

  *values(): MapIterator<Entry> {
    for (const [, e] of this.entries()) yield e
  }

  [Symbol.iterator](): MapIterator<[string, Entry]> {
    return this.entries()
  }

  forEach(fn: (value: Entry, key: string, map: ReadonlyMap<string, Entry>) => void): void {
    for (const [name, e] of this.entries()) fn(e, name, this)
  }

  #name(i: number): string {
    return this.#names.slice(i === 0 ? 0 : this.#nameEnd[i - 1], this.#nameEnd[i])
  }

  /** Index of `name` among the packed children, or -1 (binary search in code-unit order). */
  #find(name: string): number {
    let lo = 0
    let hi = this.#nameEnd.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const c = this.#compareAt(mid, name)
      if (c === 0) return mid
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  /** Compares packed name `i` with `name` by code units, without slicing. */
  #compareAt(i: number, name: string): number {
    const start = i === 0 ? 0 : (this.#nameEnd[i - 1] as number)
    const end = this.#nameEnd[i] as number
    const len = end - start
    const n = Math.min(len, name.length)
    for (let k = 0; k < n; k++) {
      const d = this.#names.charCodeAt(start + k) - name.charCodeAt(k)
      if (d !== 0) return d
    }
    return len - name.length
  }

  #entry(i: number): Entry {
    const name = this.#name(i)
    const mtimeMs = this.#mtimeMs[i] as number
    if (this.#kind[i] === DIR) return { kind: 'dir', prefix: this.#prefix + name + '/', mtimeMs } satisfies DirEntry
    const parts = this.#parts[i] as number
    const etag = parts < 0 ? (this.#etagStrings?.get(i) as string) : this.#etag.toString('hex', 16 * i, 16 * i + 16) + (parts > 0 ? `-${parts}` : '')
    return { kind: 'file', key: this.#prefix + name, size: this.#size[i] as number, etag, mtimeMs }
  }
}

/** Whether a name has UTF-16 surrogates: only then do UTF-8 and code-unit orders differ. */
function hasSurrogates(name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k)
    if (c >= 0xd800 && c <= 0xdfff) return true
  }
  return false
}
