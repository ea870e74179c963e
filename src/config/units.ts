/**
 * Parsing and formatting of human units used by CLI flags: byte sizes
 * (`200GiB`, `512MB`, `1048576`) and durations (`60s`, `5m`, `250ms`, `indefinite`).
 */
import { ConfigError } from '../errors.js'

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
}

/** Parses `200GiB`, `1.5G`, `512MB`, `4096`. Throws ConfigError naming `flag`. */
export function parseBytes(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const unit = m?.[2]?.toLowerCase() ?? ''
  const factor = BYTE_UNITS[unit]
  if (!m || factor === undefined) {
    throw new ConfigError(`${flag}: cannot parse size '${text}' (examples: 512MiB, 200GiB, 1TB)`)
  }
  return Math.floor(Number(m[1]) * factor)
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  '': 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

/**
 * Parses `60s`, `5m`, `250ms`, `2h`, a bare number of seconds, or
 * `indefinite`/`never`/`forever` (returned as `Infinity`).
 */
export function parseDurationMs(text: string, flag: string): number {
  const t = text.trim().toLowerCase()
  if (t === 'indefinite' || t === 'never' || t === 'forever' || t === 'infinite') return Infinity
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|)$/.exec(t)
  const factor = DURATION_UNITS[m?.[2] ?? 'x']
  if (!m || factor === undefined) {
    throw new ConfigError(`${flag}: cannot parse duration '${text}' (examples: 250ms, 60s, 5m, indefinite)`)
  }
  return Number(m[1]) * factor
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}
