/** What `within` answers when the time ran out first. */
export const LATE: unique symbol = Symbol('late')

/**
 * `promise`'s value (or its failure) if it settles within `ms`, else LATE. The timer is
 * cleared either way; a failure after LATE has nobody to tell and is dropped.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof LATE> {
  promise.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<typeof LATE>(resolve => {
    timer = setTimeout(() => resolve(LATE), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
