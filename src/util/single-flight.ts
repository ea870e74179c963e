/**
 * Coalesces concurrent calls for the same key into one promise: the first caller
 * starts the work, later callers share its result until it settles.
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>()

  run(key: string, work: () => Promise<V>): Promise<V> {
    const existing = this.#inFlight.get(key)
    if (existing !== undefined) return existing
    const p = work().finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, p)
    return p
  }

  /** The call in flight for `key`, if any. */
  pending(key: string): Promise<V> | undefined {
    return this.#inFlight.get(key)
  }

  get size(): number {
    return this.#inFlight.size
  }
}
