/**
 * zlib's CRC-32, the checksum of every block file's chunks and header (block-file-format.ts),
 * of shared-tier blocks, listings and index snapshots. Node's own (zlib's `crc32_z`, ~5 GB/s
 * here) until the process installs a faster one (`useCrc32`): the daemon installs the FUSE
 * binding's libdeflate (~29 GB/s), whose threads check the same chunks, once it has given
 * the same sums as zlib on a set of buffers; one that differs is refused, so a block is
 * never written with a sum its readers would not reproduce.
 */
import { crc32 as zlibCrc32 } from 'node:zlib'

/** The CRC-32 of `data`, continuing from `initial` (the CRC-32 of the bytes before it). */
export type Crc32 = (data: Uint8Array, initial: number) => number

const zlib: Crc32 = (data, initial) => zlibCrc32(data, initial)
let current: Crc32 = zlib

export function crc32(data: Uint8Array, initial = 0): number {
  return current(data, initial)
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

/** Uses `candidate` from now on if it agrees with zlib on every sample; otherwise keeps the current one. */
export function useCrc32(candidate: Crc32): boolean {
  try {
    if (!samples().every(([data, initial]) => candidate(data, initial) === zlib(data, initial))) return false
  } catch {
    return false
  }
  current = candidate
  return true
}

/** Back to zlib's (tests). */
export function resetCrc32(): void {
  current = zlib
}
