/**
 * The metrics of the work around reads, as Prometheus sees them: the fetch queue, `load`
 * jobs, open files, cross-file and announced prefetch, write-back and staging, uptime,
 * and — when they are on — the shared tier and the coordinator (no samples otherwise).
 */
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import { type MetricDefiner, oneOf, type Sample } from './metric-definer.js'

export function defineWorkMetrics(d: MetricDefiner, s: () => StatsSnapshot): void {
  const one = oneOf(s)
  d.gauge(
    's3cachefs_fetch_queue_running',
    'Fetches running in the bounded queue',
    [],
    one(x => x.queue.running),
  )
  d.gauge(
    's3cachefs_fetch_queue_waiting',
    'Fetches waiting in the bounded queue',
    [],
    one(x => x.queue.waiting),
  )
  d.gauge(
    's3cachefs_load_jobs_active',
    'Load jobs listing or loading',
    [],
    one(x => x.loads.active),
  )
  d.gauge(
    's3cachefs_load_objects_loading',
    'Files being loaded now',
    [],
    one(x => x.loads.objectsLoading),
  )
  d.gauge(
    's3cachefs_load_planned_bytes',
    'Bytes the remembered load jobs will load',
    [],
    one(x => x.loads.bytes),
  )
  d.gauge(
    's3cachefs_load_done_bytes',
    'Bytes the remembered load jobs have loaded',
    [],
    one(x => x.loads.bytesDone),
  )
  d.gauge(
    's3cachefs_open_files',
    'Open file handles',
    [],
    one(x => x.openFiles),
  )
  d.gauge(
    's3cachefs_prefetch_jobs',
    'Cross-file prefetch jobs running',
    [],
    one(x => x.prefetch.jobs),
  )
  d.gauge(
    's3cachefs_prefetch_queue_files',
    'Files waiting in cross-file prefetch',
    [],
    one(x => x.prefetch.filesQueued),
  )
  d.counter(
    's3cachefs_prefetch_files_total',
    'Files brought into the cache by cross-file prefetch',
    [],
    one(x => x.prefetch.filesPrefetched),
  )
  d.counter(
    's3cachefs_prefetch_bytes_total',
    'Bytes brought into the cache by cross-file prefetch',
    [],
    one(x => x.prefetch.bytesPrefetched),
  )
  d.counter(
    's3cachefs_prefetch_hits_total',
    'Files opened that cross-file prefetch had already brought',
    [],
    one(x => x.prefetch.hits),
  )
  d.gauge(
    's3cachefs_prefetch_unread_bytes',
    'Prefetched bytes not opened (yet)',
    [],
    one(x => x.prefetch.bytesNotRead),
  )
  d.gauge(
    's3cachefs_announced_files',
    'Files in the announced order (s3cachefs prefetch --list)',
    [],
    one(x => x.prefetch.announced.files),
  )
  d.gauge(
    's3cachefs_announced_position',
    'Files of the announced order the reader has reached',
    [],
    one(x => x.prefetch.announced.position),
  )
  d.counter(
    's3cachefs_announced_hits_total',
    'Announced files opened after the window had fetched them or started to',
    [],
    one(x => x.prefetch.announced.hits),
  )
  d.gauge(
    's3cachefs_write_pending_files',
    'Written files not yet in the bucket',
    [],
    one(x => x.writes.pending),
  )
  d.gauge(
    's3cachefs_write_pending_bytes',
    'Bytes of written files not yet in the bucket',
    [],
    one(x => x.writes.pendingBytes),
  )
  d.counter(
    's3cachefs_write_uploads_total',
    'Uploads of written files that completed',
    [],
    one(x => x.writes.uploads),
  )
  d.counter(
    's3cachefs_write_uploaded_bytes_total',
    'Bytes of written files uploaded',
    [],
    one(x => x.writes.uploadedBytes),
  )
  d.counter(
    's3cachefs_write_upload_failures_total',
    'Upload attempts that failed (the data stays staged)',
    [],
    one(x => x.writes.failures),
  )
  d.gauge(
    's3cachefs_staging_bytes',
    'Bytes of written data staged on local disk (bounded by --staging-size)',
    [],
    one(x => x.writes.staging.stagedBytes),
  )
  d.counter(
    's3cachefs_staging_refusals_total',
    'Writes refused with ENOSPC at --staging-size',
    [],
    one(x => x.writes.staging.refusals),
  )
  d.gauge(
    's3cachefs_uptime_seconds',
    'Seconds since the mount',
    [],
    one(x => x.uptimeSeconds),
  )
  defineManyNodesMetrics(d, s)
}

/** The shared tier and the coordinator: no samples when they are off. */
function defineManyNodesMetrics(d: MetricDefiner, s: () => StatsSnapshot): void {
  const tier = (f: (t: NonNullable<StatsSnapshot['sharedTier']>) => Sample[]) => (): Sample[] => {
    const t = s().sharedTier
    return t === undefined ? [] : f(t)
  }
  d.counter(
    's3cachefs_shared_tier_lookups_total',
    'Shared tier lookups of blocks the disk cache missed, by result',
    ['result'],
    tier(t => [
      [{ result: 'hit' }, t.hits],
      [{ result: 'miss' }, t.misses],
    ]),
  )
  d.counter(
    's3cachefs_shared_tier_errors_total',
    'Shared tier requests that failed or timed out (answered as misses)',
    [],
    tier(t => [[{}, t.errors]]),
  )
  d.counter(
    's3cachefs_shared_tier_mismatches_total',
    'Shared tier objects ignored: foreign, corrupt or another version',
    [],
    tier(t => [[{}, t.mismatches]]),
  )
  d.counter(
    's3cachefs_shared_tier_read_bytes_total',
    'Block bytes read from the shared tier',
    [],
    tier(t => [[{}, t.bytesRead]]),
  )
  d.counter(
    's3cachefs_shared_tier_written_bytes_total',
    'Block bytes written to the shared tier',
    [],
    tier(t => [[{}, t.bytesWritten]]),
  )
  d.counter(
    's3cachefs_shared_tier_writes_dropped_total',
    'Shared tier writes dropped because the queue was full',
    [],
    tier(t => [[{}, t.writesDropped]]),
  )
  d.counter(
    's3cachefs_shared_tier_lease_waits_total',
    "Misses that waited for another node's fetch, by outcome",
    ['result'],
    tier(t => [
      [{ result: 'hit' }, t.leaseWaitHits],
      [{ result: 'miss' }, t.leaseWaits - t.leaseWaitHits],
    ]),
  )
  const coord = (f: (c: NonNullable<StatsSnapshot['coordinator']>) => Sample[]) => (): Sample[] => {
    const c = s().coordinator
    return c === undefined ? [] : f(c)
  }
  d.gauge(
    's3cachefs_coordinator_up',
    '1 while the coordinator (Redis) answers',
    [],
    coord(c => [[{}, c.connected ? 1 : 0]]),
  )
  d.counter(
    's3cachefs_coordinator_errors_total',
    'Coordinator commands that failed (the node worked alone)',
    [],
    coord(c => [[{}, c.errors]]),
  )
  d.counter(
    's3cachefs_listing_manifest_lookups_total',
    'Directory listings looked up in the shared manifest, by result',
    ['result'],
    coord(c => [
      [{ result: 'hit' }, c.manifest.hits],
      [{ result: 'miss' }, c.manifest.misses],
    ]),
  )
}
