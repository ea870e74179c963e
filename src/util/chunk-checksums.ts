/**
 * CRC-32s of a buffer's 64 KiB chunks, taken while its bytes arrive and remembered with
 * the buffer, for the chunk table of the block file it is later written as
 * (cache/block-file-format.ts). Taken then, each chunk is still in the CPU's cache; taken
 * at the disk write, a cold GiB was a second pass through memory (~0.5 CPU-s of the main
 * thread per GiB).
 *
 * The sums are remembered only for a buffer summed whole and never written after: the
 * pieces of a block fetch's GET (s3/piece-writer.ts, `getPieces`), which own their memory
 * and are not changed once filled (a pooled piece's sums are forgotten before it is
 * reused, cache/block-pool.ts). Anything else is summed when its header is built, as
 * before. Were a remembered buffer ever changed, its block file would fail its check when
 * read, and be fetched again: never served.
 */
import { crc32 } from './crc32.js'

export const CHUNK_SHIFT = 16
/** The unit of checking: each chunk of a block's data has its own CRC-32. */
export const CHUNK_BYTES = 1 << CHUNK_SHIFT

const remembered = new WeakMap<Uint8Array, Uint32Array>()

/** The CRC-32 of each chunk of `data`: the ones remembered for it, or computed now. */
export function chunkChecksums(data: Uint8Array): Uint32Array {
  const known = remembered.get(data)
  if (known !== undefined) return known
  const sums = new Uint32Array(chunkCount(data.length))
  for (let at = 0, n = 0; at < data.length; at += CHUNK_BYTES, n++) sums[n] = crc32(data.subarray(at, at + CHUNK_BYTES))
  return sums
}

/** Forgets the sums remembered for `data` (its buffer is about to hold other bytes: cache/block-pool.ts). */
export function forgetChunkChecksums(data: Uint8Array): void {
  remembered.delete(data)
}

export function chunkCount(length: number): number {
  return Math.ceil(length / CHUNK_BYTES)
}

/** Sums one buffer's chunks as it fills from its start; remembers them once it is full. */
export class ChunkSummer {
  readonly #data: Uint8Array
  readonly #sums: Uint32Array
  #summed = 0

  constructor(data: Uint8Array) {
    this.#data = data
    this.#sums = new Uint32Array(chunkCount(data.length))
  }

  /** The buffer now holds `filled` bytes from its start: sums each chunk completed since. */
  filledTo(filled: number): void {
    const data = this.#data
    while (this.#summed < data.length) {
      const end = Math.min(this.#summed + CHUNK_BYTES, data.length)
      if (end > filled) return
      this.#sums[Math.floor(this.#summed / CHUNK_BYTES)] = crc32(data.subarray(this.#summed, end))
      this.#summed = end
    }
    remembered.set(data, this.#sums)
  }
}
