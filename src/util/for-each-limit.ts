/**
 * Runs `fn` over the items of a (possibly async) iterable with at most `limit`
 * calls in flight, pulling items only as slots free up, so a million-file walk
 * never materialises a million promises. Rejects with the first error of `fn`.
 */
export async function forEachLimit<T>(items: Iterable<T> | AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const iterator = Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]()
  let failed: unknown
  let done = false
  const worker = async (): Promise<void> => {
    while (!done && failed === undefined) {
      const next = await iterator.next()
      if (next.done === true) {
        done = true
        return
      }
      try {
        await fn(next.value)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker))
  if (failed !== undefined) throw failed
}
