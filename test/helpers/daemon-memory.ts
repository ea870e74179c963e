/** Resident memory of a daemon, sampled from /proc, for tests that bound it by counting (never by timing). */
import { readFile } from 'node:fs/promises'

export async function rssOf(pid: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  return kb === undefined ? 0 : Number(kb) * 1024
}

/** Samples `pid`'s RSS every `everyMs` until `stop()`, which returns the peak. */
export function rssPeak(pid: string, everyMs: number): { stop(): number } {
  let peak = 0
  const timer = setInterval(() => {
    rssOf(pid).then(
      r => {
        peak = Math.max(peak, r)
      },
      () => {},
    )
  }, everyMs)
  return {
    stop: () => {
      clearInterval(timer)
      return peak
    },
  }
}

/** Deterministic content, so a reader checks any range without holding the file: byte i is a hash of (seed, i). */
export function seededContent(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (Math.imul(i + seed, 2654435761) >>> 24) & 0xff
  return b
}
