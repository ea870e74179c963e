/**
 * zlib's CRC-32, the checksum of every block file's chunks and header (block-file-format.ts),
 * of shared-tier blocks, listings and index snapshots. Node's own (zlib's `crc32_z`, ~5.6 GB/s
 * here) until the process installs another (`useCrc32`): the daemon installs its FUSE
 * binding's ISA-L (~56 GB/s in C here; libdeflate's, ~15, until session 24), called per 64 KiB chunk,
 * whose threads check the same chunks, once it has given zlib's sums on a set of buffers.
 * One that differs is refused, so a block is never written with a sum its readers would
 * not reproduce.
 */
import { crc32 as zlibCrc32 } from 'node:zlib'

/** The CRC-32 of `data`, continuing from `initial` (the CRC-32 of the bytes before it). */
export type Crc32 = (data: Uint8Array, initial: number) => number

const zlib: Crc32 = (data, initial) => zlibCrc32(data, initial)
let current: Crc32 = zlib
let currentName = 'zlib'

export function crc32(data: Uint8Array, initial = 0): number {
  return current(data, initial)
}

/** The name of the implementation in use: `zlib` or the one `useCrc32` installed. */
export function crc32Implementation(): string {
  return currentName
}

/** Buffers an implementation must agree with zlib on: empty, odd lengths and offsets, chunk-sized, continued. */
function samples(): Array<[Uint8Array, number]> {
  const bytes = new Uint8Array(200_003)
  let x = 0x9e3779b9
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return [
    [bytes.subarray(0, 0), 0],
    [new TextEncoder().encode('123456789'), 0],
    [bytes.subarray(1, 2), 0],
    [bytes.subarray(3, 65_536 + 3), 0],
    [bytes.subarray(7), 0],
    [bytes.subarray(65_536, 131_072), 0xcbf43926],
    [bytes.subarray(5, 1_000), 0xffffffff],
  ]
}

/**
 * Uses `candidate` (called `name`) from now on if it agrees with zlib on every sample:
 * undefined then; otherwise why not, and the current one stays.
 */
export function useCrc32(name: string, candidate: Crc32): string | undefined {
  for (const [data, initial] of samples()) {
    let sum: number
    try {
      sum = candidate(data, initial)
    } catch (err) {
      return `it failed: ${err instanceof Error ? err.message : String(err)}`
    }
    if (sum !== zlib(data, initial)) return `its sum of ${data.length} bytes from ${initial} differs from zlib's`
  }
  current = candidate
  currentName = name
  return undefined
}
