/**
 * An approximate access counter for many more keys than it stores (a count-min
 * sketch, as in TinyLFU): 4 rows of saturating 8-bit counters indexed by a
 * 32-bit key hash. Counts only ever overestimate. Every `10 × width/2`
 * increments all counters are halved, so old popularity fades and a dataset
 * that stopped being read is eventually displaced by the one being read now.
 */

const ROWS = 4
const MAX_COUNT = 15 // a few bits of history are enough to tell hot from one-pass
const SAMPLE_PER_SLOT = 10 // halve after this many increments per expected entry (TinyLFU's W/C = 10)
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const

export class FrequencySketch {
  #width: number
  #table: Uint8Array
  #increments = 0

  constructor(expectedEntries: number) {
    this.#width = widthFor(expectedEntries)
    this.#table = new Uint8Array(this.#width * ROWS)
  }

  /** Grows (forgetting counts) when far more entries than planned are tracked; rare. */
  ensureCapacity(expectedEntries: number): void {
    if (widthFor(expectedEntries) <= this.#width) return
    this.#width = widthFor(expectedEntries)
    this.#table = new Uint8Array(this.#width * ROWS)
    this.#increments = 0
  }

  increment(hash: number): void {
    for (let row = 0; row < ROWS; row++) {
      const i = this.#slot(hash, row)
      if ((this.#table[i] as number) < MAX_COUNT) this.#table[i] = (this.#table[i] as number) + 1
    }
    if (++this.#increments >= SAMPLE_PER_SLOT * (this.#width / 2)) this.#age()
  }

  frequency(hash: number): number {
    let min = MAX_COUNT
    for (let row = 0; row < ROWS; row++) min = Math.min(min, this.#table[this.#slot(hash, row)] as number)
    return min
  }

  #slot(hash: number, row: number): number {
    let x = Math.imul(hash ^ (SEEDS[row] as number), 0x45d9f3b)
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b)
    x ^= x >>> 16
    return row * this.#width + ((x >>> 0) & (this.#width - 1))
  }

  #age(): void {
    for (let i = 0; i < this.#table.length; i++) this.#table[i] = (this.#table[i] as number) >>> 1
    this.#increments = 0
  }
}

/** A power of two at least twice the expected entries, so collisions stay rare. */
function widthFor(entries: number): number {
  let w = 1024
  while (w < 2 * entries) w *= 2
  return w
}
