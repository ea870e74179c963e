/** A seeded shuffle (Fisher–Yates over a linear congruential generator): the same order for the same seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    const j = seed % (i + 1)
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
  return a
}
