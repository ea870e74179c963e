/** `s3cachefs stats MOUNTPOINT [--json]`: the daemon's figures, as a table or stable JSON. */
import { formatBytes } from '../config/units.js'
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import { controlRequest } from './control-client.js'

export async function statsCommand(mountPoint: string, opts: { json?: boolean }): Promise<number> {
  const s = await controlRequest(mountPoint, 'GET', '/stats') as StatsSnapshot
  process.stdout.write(opts.json === true ? JSON.stringify(s, null, 2) + '\n' : formatStats(s))
  return 0
}

export function formatStats(s: StatsSnapshot): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`
  const k = s.s3.byKind
  const rows: Array<[string, string]> = [
    ['mount', `${s.source} on ${s.mountPoint} (up ${s.uptimeSeconds}s)`],
    ['served', `${formatBytes(s.reads.bytesServed)} to readers (${s.reads.memoryHits} block lookups answered from memory)`],
    ['cache hit ratio', `${pct(s.reads.hitRatio)} of blocks (${s.reads.blocksFromDisk} from disk, ${s.reads.blocksFromStore} from S3)`],
    ['byte hit ratio', `${pct(s.reads.byteHitRatio)} (disk ${formatBytes(s.reads.bytesFromDisk)}, S3 ${formatBytes(s.reads.bytesFromStore)})`],
    ['S3 GET', `${k.get.count} (errors ${k.get.errors}, p50 ${k.get.p50Ms.toFixed(1)} ms, p99 ${k.get.p99Ms.toFixed(1)} ms)`],
    ['S3 HEAD', `${k.head.count} (errors ${k.head.errors})`],
    ['S3 LIST', `${k.list.count} (errors ${k.list.errors})`],
    ['S3 in flight', `${s.s3.inFlight} (queue: ${s.queue.running} running, ${s.queue.waiting} waiting)`],
    ['cache', `${formatBytes(s.cache.usedBytes)} of ${formatBytes(s.cache.maxBytes)} in ${s.cache.blocks} blocks (evicted ${s.cache.evictedBlocks}, corrupt ${s.cache.corruptBlocks})`],
    ['open files', String(s.openFiles)],
  ]
  const errs = Object.entries(s.s3.errorsByCode)
  if (errs.length > 0) rows.push(['errors', errs.map(([c, n]) => `${c}=${n}`).join(' ')])
  const w = Math.max(...rows.map(r => r[0].length))
  return rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join('\n') + '\n'
}
