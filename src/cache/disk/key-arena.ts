/**
 * Object keys of the disk cache's index as UTF-8 in one growing buffer, addressed by
 * (offset, length) per object slot: ~1 byte per ASCII character and 6 bytes of
 * address, against a JS string's 16-byte header, padding and 8-byte pointer. A key
 * released leaves a hole. When the buffer is full it is copied into one a quarter
 * larger, with the holes squeezed out once they are a quarter of it.
 */
const NO_KEY = 0xffffffff
const INITIAL_BYTES = 64 * 1024

export class KeyArena {
  #data = Buffer.allocUnsafe(INITIAL_BYTES)
  #end = 0
  #garbage = 0
  #offset = new Uint32Array(0)
  #length = new Uint16Array(0)

  /** Makes room for slots up to `slots` − 1 (ObjectTable calls this as it grows). */
  resize(slots: number): void {
    const offset = new Uint32Array(slots).fill(NO_KEY)
    offset.set(this.#offset.subarray(0, Math.min(slots, this.#offset.length)))
    const length = new Uint16Array(slots)
    length.set(this.#length.subarray(0, Math.min(slots, this.#length.length)))
    this.#offset = offset
    this.#length = length
  }

  has(slot: number): boolean {
    return this.#offset[slot] !== NO_KEY
  }

  get(slot: number): string | undefined {
    const o = this.#offset[slot] as number
    return o === NO_KEY ? undefined : this.#data.toString('utf8', o, o + (this.#length[slot] as number))
  }

  /** Stores the key of `slot` (replacing any). A key over 65,535 bytes is not kept (S3 keys are at most 1,024). */
  set(slot: number, key: string): void {
    this.release(slot)
    const bytes = Buffer.byteLength(key, 'utf8')
    if (bytes > 0xffff) return
    if (this.#end + bytes > this.#data.length) this.#makeRoom(bytes)
    this.#data.write(key, this.#end, 'utf8')
    this.#offset[slot] = this.#end
    this.#length[slot] = bytes
    this.#end += bytes
  }

  release(slot: number): void {
    if (this.#offset[slot] === NO_KEY) return
    this.#garbage += this.#length[slot] as number
    this.#offset[slot] = NO_KEY
  }

  /**
   * A buffer with room for the live keys, `more` bytes and a quarter more: the old one
   * copied whole while holes are under a quarter of it, else the live keys one by one.
   */
  #makeRoom(more: number): void {
    const live = this.#end - this.#garbage
    const compact = this.#garbage * 4 > this.#end
    const next = Buffer.allocUnsafe(Math.max(INITIAL_BYTES, Math.ceil(1.25 * ((compact ? live : this.#end) + more))))
    if (!compact) {
      this.#data.copy(next, 0, 0, this.#end)
      this.#data = next
      return
    }
    let end = 0
    for (let s = 0; s < this.#offset.length; s++) {
      const o = this.#offset[s] as number
      if (o === NO_KEY) continue
      const n = this.#length[s] as number
      this.#data.copy(next, end, o, o + n)
      this.#offset[s] = end
      end += n
    }
    this.#data = next
    this.#end = end
    this.#garbage = 0
  }
}
