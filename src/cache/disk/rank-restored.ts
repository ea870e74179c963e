/**
 * Orders the block slots restored at start by when they were stored, oldest first, fast
 * enough for millions: each (stored-at, slot) pair is packed into one float64 (the time
 * relative to the oldest, in the high bits, the slot in the low bits) and the packed
 * array is sorted natively, with no comparator call per pair (1.8 s → a fraction for
 * 1.28 M blocks here). When the span of times is too wide for the bits left, times are
 * coarsened (to ms · 2^k), which only ties blocks stored within the same step.
 */
import type { BlockTable } from './block-table.js'

const MANTISSA_BITS = 53

/** The slots, oldest stored first. */
export function rankByStoredAt(slots: Int32Array, blocks: BlockTable): Int32Array {
  if (slots.length === 0) return slots
  let min = Infinity
  let max = -Infinity
  let maxSlot = 0
  for (const s of slots) {
    const t = blocks.storedAtOf(s)
    if (t < min) min = t
    if (t > max) max = t
    if (s > maxSlot) maxSlot = s
  }
  const slotSpan = 2 ** Math.ceil(Math.log2(maxSlot + 1))
  const timeSpan = 2 ** (MANTISSA_BITS - Math.log2(slotSpan))
  const step = Math.max(1, Math.ceil((Math.floor(max - min) + 1) / timeSpan))
  const packed = new Float64Array(slots.length)
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i] as number
    packed[i] = Math.floor((blocks.storedAtOf(s) - min) / step) * slotSpan + s
  }
  packed.sort()
  const out = new Int32Array(slots.length)
  for (let i = 0; i < packed.length; i++) out[i] = (packed[i] as number) % slotSpan
  return out
}
