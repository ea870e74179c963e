/**
 * `s3cachefs pin`, `unpin`, `free`, `ttl` and `refresh`: each resolves its paths
 * to a mount, asks that mount's daemon over the control socket, and prints one
 * line per result. Refusals (pinning more than the cache) come back as one line
 * and exit 1.
 */
import { formatBytes, parseDurationMs } from '../config/units.js'
import type { FreeReport, PinReport, TtlReport, UnpinReport } from '../ops/cache-ops.js'
import type { RefreshReport } from '../ops/metadata-refresher.js'
import { controlRequest } from './control-client.js'
import { resolveMountPaths } from './mount-paths.js'

const shown = (mountPoint: string, path: string) => (path === '/' ? mountPoint : mountPoint + path)

export async function pinCommand(args: string[]): Promise<number> {
  const { mountPoint, paths } = await resolveMountPaths(args)
  const r = (await controlRequest(mountPoint, 'pin', { paths })) as PinReport
  for (const p of r.pinned) {
    process.stdout.write(
      `${p.alreadyPinned ? 'already pinned' : 'pinned'} ${shown(mountPoint, p.path)}: ${formatBytes(p.bytes)} in ${p.files} files, ` +
        `${formatBytes(p.cachedBytes)} of it cached now\n`,
    )
  }
  process.stdout.write(`pins of ${mountPoint} may hold ${formatBytes(r.pinnedBytes)}; ${formatBytes(r.cachedPinnedBytes)} pinned data cached\n`)
  return 0
}

export async function unpinCommand(args: string[]): Promise<number> {
  const { mountPoint, paths } = await resolveMountPaths(args)
  const r = (await controlRequest(mountPoint, 'unpin', { paths })) as UnpinReport
  for (const u of r.unpinned) process.stdout.write(`unpinned ${shown(mountPoint, u.path)} (${formatBytes(u.bytes)})\n`)
  for (const p of r.notPinned) process.stdout.write(`not pinned: ${shown(mountPoint, p)}\n`)
  return 0
}

export async function freeCommand(args: string[], opts: { force?: boolean }): Promise<number> {
  const { mountPoint, paths } = await resolveMountPaths(args)
  const r = (await controlRequest(mountPoint, 'free', { paths, force: opts.force === true })) as FreeReport
  process.stdout.write(
    `freed ${formatBytes(r.bytes)} (${r.blocks} blocks of ${r.files} files)` +
      (r.pinnedKeptBytes > 0 ? `; kept ${formatBytes(r.pinnedKeptBytes)} of pinned data (--force drops it too)` : '') +
      '\n',
  )
  return 0
}

export async function ttlCommand(path: string, duration: string): Promise<number> {
  const ms = parseDurationMs(duration, 'DURATION')
  const { mountPoint, paths } = await resolveMountPaths([path])
  const r = (await controlRequest(mountPoint, 'ttl', { path: paths[0], ttlMs: Number.isFinite(ms) ? ms : null })) as TtlReport
  process.stdout.write(
    r.ttlMs === null
      ? `cached data under ${shown(mountPoint, r.path)} never expires\n`
      : `cached data under ${shown(mountPoint, r.path)} is dropped ${duration} after it was fetched; ` +
          `dropped ${formatBytes(r.droppedBytes)} (${r.droppedBlocks} blocks) already older\n`,
  )
  return 0
}

export async function refreshCommand(path: string): Promise<number> {
  const { mountPoint, paths } = await resolveMountPaths([path])
  const r = (await controlRequest(mountPoint, 'refresh', { path: paths[0] })) as RefreshReport
  process.stdout.write(
    `refreshed ${shown(mountPoint, r.path)}: listed ${r.directories} director${r.directories === 1 ? 'y' : 'ies'} again (${r.entries} entries)\n`,
  )
  return 0
}
