/**
 * Times every asynchronous method of an ObjectClient (or any object) and reports
 * (method, seconds, ok) to an observer: the S3 latency histogram of the
 * Prometheus endpoint. A Proxy rather than a hand-written wrapper, so methods the
 * client gains later are timed without changes here; non-promise results pass
 * through untouched.
 */
export type LatencyObserver = (method: string, seconds: number, ok: boolean) => void

export function observeLatency<T extends object>(inner: T, observe: LatencyObserver): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      return (...args: unknown[]) => {
        const t0 = performance.now()
        const result = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (!(result instanceof Promise)) return result
        return result.then(
          v => { observe(prop, (performance.now() - t0) / 1000, true); return v },
          (err: unknown) => { observe(prop, (performance.now() - t0) / 1000, false); throw err },
        )
      }
    },
  })
}
