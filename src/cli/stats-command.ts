/**
 * `s3cachefs stats MOUNTPOINT [--json] [--watch]`: the daemon's figures, as a
 * table or stable JSON. --watch redraws every second (a terminal is cleared
 * first; otherwise tables follow one another, and --json prints one line each).
 */
import { STATS_WATCH_INTERVAL_MS } from '../config/defaults.js'
import { formatBytes } from '../config/units.js'
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import { controlRequest } from './control-client.js'

export async function statsCommand(mountPoint: string, opts: { json?: boolean; watch?: boolean }): Promise<number> {
  const s = (await controlRequest(mountPoint, 'stats')) as StatsSnapshot
  if (opts.watch !== true) {
    process.stdout.write(opts.json === true ? JSON.stringify(s, null, 2) + '\n' : formatStats(s))
    return 0
  }
  for (let snap = s; ; snap = (await controlRequest(mountPoint, 'stats')) as StatsSnapshot) {
    if (opts.json === true) process.stdout.write(JSON.stringify(snap) + '\n')
    else process.stdout.write((process.stdout.isTTY === true ? '\x1b[H\x1b[2J' : '\n') + formatStats(snap))
    await new Promise(r => setTimeout(r, STATS_WATCH_INTERVAL_MS))
  }
}

function formatStats(s: StatsSnapshot): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`
  const k = s.s3.byKind
  const rows: Array<[string, string]> = [
    ['mount', `${s.source} on ${s.mountPoint} (up ${s.uptimeSeconds}s)`],
    ['served', `${formatBytes(s.reads.bytesServed)} to readers (${s.reads.memoryHits} block lookups answered from memory)`],
    [
      'cache hit ratio',
      `${pct(s.reads.hitRatio)} of bytes served (${formatBytes(s.reads.bytesServedFromCache)} cached, ${formatBytes(s.reads.bytesServedFromStore)} fetched for the reader)`,
    ],
    [
      'block loads',
      `${pct(s.reads.blockHitRatio)} from disk (${s.reads.blocksFromDisk} blocks from disk, ${s.reads.blocksFromStore} from S3; ` +
        `disk ${formatBytes(s.reads.bytesFromDisk)}, S3 ${formatBytes(s.reads.bytesFromStore)})`,
    ],
    [
      'direct reads',
      `${s.reads.direct.reads} answered by the FUSE threads from block files (${formatBytes(s.reads.direct.bytes)}), ${s.reads.direct.fallbacks} handed back`,
    ],
    ['S3 GET', `${k.get.count} (errors ${k.get.errors}, p50 ${k.get.p50Ms.toFixed(1)} ms, p99 ${k.get.p99Ms.toFixed(1)} ms)`],
    ['S3 HEAD', `${k.head.count} (errors ${k.head.errors})`],
    ['S3 LIST', `${k.list.count} (errors ${k.list.errors})`],
    ['S3 bodies checked', `${s.s3.integrity.checked} against the store's checksum or MD5 ETag, ${s.s3.integrity.corrupt} corrupt (retried, never cached)`],
    ['S3 in flight', `${s.s3.inFlight} (queue: ${s.queue.running} running, ${s.queue.waiting} waiting)`],
    [
      'cache',
      `${formatBytes(s.cache.usedBytes)} of ${formatBytes(s.cache.maxBytes)} in ${s.cache.blocks} blocks (evicted ${s.cache.evictedBlocks}, corrupt ${s.cache.corruptBlocks})`,
    ],
    ['open files', String(s.openFiles)],
    [
      'memory',
      `${formatBytes(s.memory.rssBytes)} resident (JS heap ${formatBytes(s.memory.heapUsedBytes)} of ${formatBytes(s.memory.heapTotalBytes)}, ` +
        `outside it ${formatBytes(s.memory.externalBytes)}; block tier ${formatBytes(s.memory.memoryTierBytes)})`,
    ],
    [
      'stale-if-error',
      `${s.staleIfError.staleAnswers} stale answers in ${s.staleIfError.episodes} store outage(s)${s.staleIfError.active ? ' (store failing now)' : ''}` +
        `${s.cache.diskFull ? '; cache disk full, bound lowered' : ''}`,
    ],
    [
      'prefetch',
      `${s.prefetch.jobs} job(s), ${s.prefetch.filesQueued} files queued; ${s.prefetch.filesPrefetched} files (${formatBytes(s.prefetch.bytesPrefetched)}) prefetched, ` +
        `${s.prefetch.hits} opened after prefetch (hits), ${formatBytes(s.prefetch.bytesNotRead)} prefetched not read (yet)`,
    ],
    [
      'announced',
      `${s.prefetch.announced.position}/${s.prefetch.announced.files} files read, ${s.prefetch.announced.prefetched} prefetched ` +
        `(${formatBytes(s.prefetch.announced.bytesPrefetched)}), ${s.prefetch.announced.hits} hits, ${s.prefetch.announced.skipped} skipped`,
    ],
    [
      'writes',
      `${s.writes.pending} file(s) pending (${formatBytes(s.writes.pendingBytes)}), ${s.writes.uploads} uploaded ` +
        `(${formatBytes(s.writes.uploadedBytes)}), ${s.writes.failures} failed attempts`,
    ],
    [
      'staging',
      `${formatBytes(s.writes.staging.stagedBytes)} of ${formatBytes(s.writes.staging.maxBytes)} staged; ` +
        `${s.writes.staging.waits} write(s) waited for uploads, ${s.writes.staging.refusals} refused (ENOSPC)`,
    ],
  ]
  rows.push(...opsRows(s))
  const pt = s.passthrough
  if (pt !== undefined) {
    const k = pt.kernel
    const kernel =
      k === undefined
        ? 'not mounted yet'
        : !k.granted
          ? `OFF (the kernel ${k.offered ? 'did not take it' : 'does not offer it'}${k.lastError !== 0 ? `; errno ${k.lastError}` : ''})`
          : `${k.opens} opens read by the kernel (${k.shared} sharing an open inode's file), ${k.cachedFallbacks} in the page-cache mode of an inode already open, ${k.busy} refused EBUSY`
    const c = pt.copies
    rows.push([
      'passthrough',
      `${kernel}; copies ${formatBytes(c.bytes)} of ${formatBytes(c.maxBytes)} in ${c.files} files (${c.pending} pending, ${c.made} made, ${c.failed} failed, ${c.removed} removed)`,
    ])
  }
  const w = Math.max(...rows.map(r => r[0].length))
  return rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join('\n') + '\n'
}

/** Rows of the operator figures: eviction, pins, TTL, loads, errors by kind. */
function opsRows(s: StatsSnapshot): Array<[string, string]> {
  const c = s.cache
  const rows: Array<[string, string]> = [
    [
      'eviction',
      `${c.policy}; pinned ${formatBytes(c.pinnedBytes)} in ${c.pinnedBlocks} blocks` +
        (s.pins.length > 0 ? ` (${s.pins.map(p => `${p.path} ${formatBytes(p.bytes)}`).join(', ')})` : ''),
    ],
    ['dropped', `TTL ${c.ttlDroppedBlocks} blocks (${formatBytes(c.ttlDroppedBytes)}), freed ${c.freedBlocks} blocks (${formatBytes(c.freedBytes)})`],
  ]
  const l = s.loads
  if (l.jobs.length > 0) {
    rows.push([
      'loads',
      `${l.active} active, ${l.objectsLoading} objects loading, ${l.filesDone}/${l.files} files, ` +
        `${formatBytes(l.bytesDone)}/${formatBytes(l.bytes)}${l.failedFiles > 0 ? `, ${l.failedFiles} failed` : ''}`,
    ])
  }
  const e = s.errors
  const codes = (m: Readonly<Record<string, number>>) =>
    Object.entries(m)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')
  const parts = [
    Object.keys(e.s3).length > 0 ? `S3 ${codes(e.s3)}` : '',
    Object.keys(e.reads).length > 0 ? `reads ${codes(e.reads)}` : '',
    e.cacheWrites > 0 ? `cache writes ${e.cacheWrites}` : '',
    e.cacheCorrupt > 0 ? `corrupt blocks ${e.cacheCorrupt}` : '',
    e.loadFiles > 0 ? `load files ${e.loadFiles}` : '',
  ].filter(p => p !== '')
  rows.push(['errors', parts.length > 0 ? parts.join('; ') : 'none'])
  if (s.metricsUrl !== undefined) rows.push(['metrics', s.metricsUrl])
  const t = s.sharedTier
  if (t !== undefined) {
    rows.push([
      'shared tier',
      `${t.url}: ${t.hits} hits, ${t.misses} misses (${t.mismatches} not matching), ${t.errors} errors; ` +
        `read ${formatBytes(t.bytesRead)}, wrote ${formatBytes(t.bytesWritten)} in ${t.writes} blocks (${t.writesDropped} dropped, ${t.writesQueued} queued)`,
    ])
  }
  const co = s.coordinator
  if (co !== undefined) {
    rows.push([
      'coordinator',
      `${co.connected ? 'up' : 'DOWN (working alone)'}, ${co.errors} failed commands; ` +
        `listing manifest ${co.manifest.hits} hits, ${co.manifest.misses} misses` +
        (t !== undefined ? `; waited for other nodes ${t.leaseWaits} times (${t.leaseWaitHits} hits)` : ''),
    ])
  }
  return rows
}
