/** Progress figures of `load --wait`: one line with files, bytes, MB/s and ETA. */
import { formatBytes } from '../config/units.js'

export interface Progress {
  readonly files: number
  readonly filesDone: number
  readonly bytes: number
  readonly bytesDone: number
  readonly elapsedMs: number
}

/** `120/500 files, 1.1 GiB/4.0 GiB, 85.3 MB/s, ETA 35s` (MB/s in 10^6 bytes, as link speeds are quoted). */
export function formatProgress(p: Progress): string {
  const rate = p.elapsedMs > 0 ? p.bytesDone / (p.elapsedMs / 1000) : 0
  const eta = rate > 0 ? (p.bytes - p.bytesDone) / rate : undefined
  return (
    `${p.filesDone}/${p.files} files, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytes)}, ` +
    `${(rate / 1e6).toFixed(1)} MB/s, ETA ${eta === undefined ? '?' : formatSeconds(eta)}`
  )
}

/** `42s`, `3m05s`, `1h02m`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
