/** Helpers shared by the cache-operation mount tests (ops*.test.ts). */
import { createHash } from 'node:crypto'
import type { Test } from 'tap'
import type { Fixture } from './mount-fixture.js'

export const MiB = 1024 * 1024
export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
export const gets = async (fx: Fixture) => {
  const r = await fx.requests()
  return r.getObject + r.rangedGet
}

export interface Stats {
  loads: { active: number; objectsLoading: number; files: number; filesDone: number; bytes: number; bytesDone: number }
  cache: { pinnedBytes: number; evictedBlocks: number; freedBytes: number; ttlDroppedBlocks: number; usedBytes: number }
  reads: { hitRatio: number; bytesServedFromStore: number }
}
export const stats = async (fx: Fixture) => JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats

export async function putAll(fx: Fixture, files: Map<string, Buffer>): Promise<void> {
  const all = [...files]
  for (let i = 0; i < all.length; i += 16) await Promise.all(all.slice(i, i + 16).map(([k, v]) => fx.put(k, v)))
}

/** Checks every file's content through the mount (in a child process) against `files`. */
export async function verify(t: Test, fx: Fixture, files: Map<string, Buffer>, prefix: string): Promise<void> {
  const r = await fx.sh(`cd ${fx.mountPoint} && find ${prefix} -type f | sort | xargs -P 4 -n 8 sha256sum`)
  t.equal(r.code, 0, r.stderr)
  const seen = new Map(
    r.stdout
      .trim()
      .split('\n')
      .map(l => [l.slice(66), l.slice(0, 64)]),
  )
  let bad = 0
  for (const [k, v] of files) if (k.startsWith(prefix) && seen.get(k) !== sha(v)) bad++
  t.equal(bad, 0, `every file under ${prefix} reads back exactly`)
}
