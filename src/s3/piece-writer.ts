import { ChunkSummer } from '../util/chunk-checksums.js'

/**
 * Fills consecutive block-sized pieces of a known total length from a response
 * body's chunks as they arrive, so a GET is read straight into cache blocks with no
 * buffer of the whole range and no copy out of it. Each piece owns exactly its memory
 * (never a view into a pooled allocation that a small cached block would keep alive),
 * and, for a block fetch, its chunks' CRC-32s are taken as they fill (util/chunk-checksums.ts), while hot.
 */
export class PieceWriter {
  readonly pieces: Buffer[] = []
  filled = 0
  readonly #summers: ChunkSummer[] = []
  readonly #length: number

  private constructor(length: number) {
    this.#length = length
  }

  /** Bytes the pieces hold in all. */
  get length(): number {
    return this.#length
  }

  /** `sumChunks`: take each piece's chunk CRC-32s as it fills (for pieces that become block files); `alloc`: where each piece's memory comes from (RangeRequest.allocPiece). */
  static forLength(length: number, pieceBytes: number, sumChunks = false, alloc: (bytes: number) => Buffer = Buffer.allocUnsafeSlow): PieceWriter {
    const w = new PieceWriter(length)
    for (let at = 0; at < length; at += pieceBytes) {
      const piece = alloc(Math.min(pieceBytes, length - at))
      w.pieces.push(piece)
      if (sumChunks) w.#summers.push(new ChunkSummer(piece))
    }
    return w
  }

  /** Copies `chunk` in; false if it runs past the total length. */
  write(chunk: Uint8Array): boolean {
    if (this.filled + chunk.length > this.#length) return false
    let from = 0
    while (from < chunk.length) {
      const piece = this.pieces[this.#pieceAt(this.filled)] as Buffer
      const at = this.filled - this.#pieceStart(this.filled)
      const n = Math.min(piece.length - at, chunk.length - from)
      piece.set(chunk.subarray(from, from + n), at)
      from += n
      this.#advance(n)
    }
    return true
  }

  /** The rest of the piece the next byte goes to, for a reader to fill in place (then `advance`); empty once full. */
  writable(): Buffer {
    if (this.filled >= this.#length) return Buffer.alloc(0)
    const piece = this.pieces[this.#pieceAt(this.filled)] as Buffer
    return piece.subarray(this.filled - this.#pieceStart(this.filled))
  }

  /** `n` bytes were written in place at the start of `writable()`. */
  advance(n: number): void {
    // writable() never spans two pieces
    this.#advance(n)
  }

  #advance(n: number): void {
    if (n === 0) return
    const start = this.#pieceStart(this.filled)
    const summer = this.#summers[this.#pieceAt(this.filled)]
    this.filled += n
    summer?.filledTo(this.filled - start)
  }

  /** Pieces filled to their end: every one once the whole length is in. */
  get complete(): number {
    return this.filled === this.#length ? this.pieces.length : this.#pieceAt(this.filled)
  }

  #pieceAt(offset: number): number {
    return Math.floor(offset / (this.pieces[0] as Buffer).length)
  }

  #pieceStart(offset: number): number {
    return this.#pieceAt(offset) * (this.pieces[0] as Buffer).length
  }
}
