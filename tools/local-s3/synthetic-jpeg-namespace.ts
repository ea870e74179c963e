/**
 * A SyntheticNamespace whose objects are real, decodable JPEGs, for the benchmark's
 * loader and PyTorch workloads on the synthetic store (ImageFolder wants `.JPEG` names
 * in class directories; a decoder must be able to open every body).
 *
 * Keys: `<prefix>n<dir, 5 digits>/img_<index, 8 digits>.JPEG` (index order is key
 * order, as the parent's INVARIANT requires). Body of object i: one of a few base JPEGs
 * (encoded once by the caller, e.g. with jpeg-js), with COM (comment) segments inserted
 * after SOI/APP0: the first holds the key (so no two bodies are equal), the others a
 * window into a 1 MiB pseudo-random pattern until the object has its size. Decoders skip
 * COM segments by length. Nothing is stored; a GET is served as slices of the base, the
 * key and the pattern, computed per request. ETags are the parent's: stable per (seed,
 * index, size).
 */
import { makePattern, SyntheticNamespace, type SyntheticNamespaceOptions } from './synthetic-namespace.js'

/** A COM segment's length field counts itself: at most 65,533 bytes of payload. */
const MAX_COM_PAYLOAD_BYTES = 65_533
/** Marker (2) + length (2). */
const SEGMENT_OVERHEAD_BYTES = 4
const PATTERN_BYTES = 1 << 20

export class SyntheticJpegNamespace extends SyntheticNamespace {
  readonly #bases: readonly Buffer[]
  readonly #pattern: Buffer

  /** `bases`: complete JPEG files (SOI first), e.g. jpeg-synth's makeBaseImages. */
  constructor(o: SyntheticNamespaceOptions, bases: readonly Buffer[]) {
    super(o)
    if (bases.length === 0 || bases.some(b => b[0] !== 0xff || b[1] !== 0xd8))
      throw new RangeError('synthetic JPEG namespace: need base JPEGs starting with SOI')
    this.#bases = bases
    this.#pattern = makePattern((o.seed ?? 1) + 7)
  }

  override key(i: number): string {
    return `${this.prefix}n${String(Math.floor(i / this.perDirectory)).padStart(5, '0')}/img_${String(i).padStart(8, '0')}.JPEG`
  }

  override indexOf(key: string): number {
    const m = /img_(\d{8})\.JPEG$/.exec(key)
    const i = m === null ? -1 : Number(m[1])
    return i >= 0 && i < this.objects && this.key(i) === key ? i : -1
  }

  /** The parent's size, raised to what the base image and the key's segment need. */
  override size(i: number): number {
    return Math.max(super.size(i), this.#floor(i))
  }

  override slices(i: number, start: number, end: number): Buffer[] {
    const out: Buffer[] = []
    let pos = 0
    for (const part of this.#parts(i)) {
      const from = Math.max(start, pos)
      const to = Math.min(end, pos + part.length)
      if (from < to) out.push(part.subarray(from - pos, to - pos))
      pos += part.length
      if (pos >= end) break
    }
    return out
  }

  #base(i: number): Buffer {
    return this.#bases[i % this.#bases.length] as Buffer
  }

  #floor(i: number): number {
    return this.#base(i).length + SEGMENT_OVERHEAD_BYTES + Buffer.byteLength(this.key(i))
  }

  /** The body as parts in order: head of the base, COM(key), COM(pattern)…, rest of the base. */
  #parts(i: number): Buffer[] {
    const base = this.#base(i)
    const at = insertionOffset(base)
    const key = Buffer.from(this.key(i))
    const pad = this.size(i) - this.#floor(i)
    let offset = (i * 7919) % PATTERN_BYTES
    if (pad < SEGMENT_OVERHEAD_BYTES) {
      // Too few bytes for a segment of their own: the key's segment carries them.
      return [base.subarray(0, at), segmentHeader(key.length + pad), key, this.#pattern.subarray(offset, offset + pad), base.subarray(at)]
    }
    const parts = [base.subarray(0, at), segmentHeader(key.length), key]
    const segments = Math.ceil(pad / (MAX_COM_PAYLOAD_BYTES + SEGMENT_OVERHEAD_BYTES))
    const payloadTotal = pad - segments * SEGMENT_OVERHEAD_BYTES
    for (let s = 0; s < segments; s++) {
      // Spread evenly: each share stays ≤ MAX_COM_PAYLOAD_BYTES.
      const n = Math.floor(payloadTotal / segments) + (s < payloadTotal % segments ? 1 : 0)
      parts.push(segmentHeader(n), this.#pattern.subarray(offset, offset + n))
      offset = (offset + n) % PATTERN_BYTES
    }
    parts.push(base.subarray(at))
    return parts
  }
}

function segmentHeader(payloadBytes: number): Buffer {
  const h = Buffer.allocUnsafe(SEGMENT_OVERHEAD_BYTES)
  h[0] = 0xff
  h[1] = 0xfe
  h.writeUInt16BE(payloadBytes + 2, 2)
  return h
}

/** After SOI and, when present, the APP0 (JFIF) segment that must follow it. */
function insertionOffset(base: Buffer): number {
  if (base[2] === 0xff && base[3] === 0xe0) return 4 + base.readUInt16BE(4)
  return 2
}
