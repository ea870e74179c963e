/**
 * The metrics of the read path, as Prometheus sees them: S3 requests (count, errors,
 * bytes, in flight, body checks), bytes served and where they came from, stale answers,
 * direct reads, and the disk cache. Read from the snapshot of each scrape.
 */
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import { type MetricDefiner, oneOf, type Sample } from './metric-definer.js'

export function defineReadMetrics(d: MetricDefiner, s: () => StatsSnapshot): void {
  const kinds = (f: (k: StatsSnapshot['s3']['byKind']['get']) => number) => (): Sample[] => Object.entries(s().s3.byKind).map(([kind, k]) => [{ kind }, f(k)])
  const byCode = (m: Readonly<Record<string, number>>): Sample[] => Object.entries(m).map(([code, n]) => [{ code }, n])
  const one = oneOf(s)
  d.counter(
    's3cachefs_s3_requests_total',
    'S3 requests sent, by kind',
    ['kind'],
    kinds(k => k.count),
  )
  d.counter(
    's3cachefs_s3_request_errors_total',
    'S3 requests that failed after retries, by kind',
    ['kind'],
    kinds(k => k.errors),
  )
  d.counter('s3cachefs_s3_errors_total', 'S3 requests that failed after retries, by error code', ['code'], () => byCode(s().s3.errorsByCode))
  d.counter(
    's3cachefs_s3_received_bytes_total',
    'Bytes received from S3, by kind',
    ['kind'],
    kinds(k => k.bytes),
  )
  d.gauge(
    's3cachefs_s3_requests_in_flight',
    'S3 requests on the wire now',
    [],
    one(x => x.s3.inFlight),
  )
  d.counter(
    's3cachefs_s3_checked_bodies_total',
    "Response bodies checked against the store's checksum or MD5 ETag",
    [],
    one(x => x.s3.integrity.checked),
  )
  d.counter(
    's3cachefs_s3_corrupt_bodies_total',
    'Response bodies that failed that check (retried, never cached)',
    [],
    one(x => x.s3.integrity.corrupt),
  )

  d.counter(
    's3cachefs_read_served_bytes_total',
    'Bytes returned to readers',
    [],
    one(x => x.reads.bytesServed),
  )
  d.counter('s3cachefs_read_errors_total', 'Reads that failed, by error code', ['code'], () => byCode(s().errors.reads))
  d.counter(
    's3cachefs_cache_memory_hits_total',
    'Block lookups answered from the in-memory block cache',
    [],
    one(x => x.reads.memoryHits),
  )
  d.counter('s3cachefs_cache_block_loads_total', 'Blocks brought into memory, from the disk cache (hit) or S3 (miss)', ['source'], () => [
    [{ source: 'disk' }, s().reads.blocksFromDisk],
    [{ source: 's3' }, s().reads.blocksFromStore],
  ])
  d.counter('s3cachefs_cache_loaded_bytes_total', 'Bytes brought into memory, from the disk cache or S3', ['source'], () => [
    [{ source: 'disk' }, s().reads.bytesFromDisk],
    [{ source: 's3' }, s().reads.bytesFromStore],
  ])
  d.gauge(
    's3cachefs_cache_hit_ratio',
    'Bytes served to readers from the cache over all bytes served, since mount (0-1)',
    [],
    one(x => x.reads.hitRatio),
  )
  d.counter('s3cachefs_read_served_from_bytes_total', 'Bytes served to readers, by where they were when asked: cache or s3', ['source'], () => [
    [{ source: 'cache' }, s().reads.bytesServedFromCache],
    [{ source: 's3' }, s().reads.bytesServedFromStore],
  ])
  d.counter(
    's3cachefs_stale_answers_total',
    'Lookups and listings answered past their TTL because the store failed',
    [],
    one(x => x.staleIfError.staleAnswers),
  )
  d.counter(
    's3cachefs_stale_episodes_total',
    'Store outages during which stale answers were given',
    [],
    one(x => x.staleIfError.episodes),
  )
  d.gauge(
    's3cachefs_stale_active',
    '1 while stale answers are being given',
    [],
    one(x => (x.staleIfError.active ? 1 : 0)),
  )
  d.gauge(
    's3cachefs_cache_disk_full',
    '1 while the cache disk is full and the bound lowered to what fits',
    [],
    one(x => (x.cache.diskFull ? 1 : 0)),
  )
  d.counter(
    's3cachefs_direct_reads_total',
    'Reads the FUSE threads answered from block files themselves, or handed back to the event loop',
    ['outcome'],
    () => [
      [{ outcome: 'served' }, s().reads.direct.reads],
      [{ outcome: 'handed_back' }, s().reads.direct.fallbacks],
    ],
  )

  d.gauge(
    's3cachefs_cache_used_bytes',
    'Bytes in the disk cache',
    [],
    one(x => x.cache.usedBytes),
  )
  d.gauge(
    's3cachefs_cache_max_bytes',
    'Bound of the disk cache',
    [],
    one(x => x.cache.maxBytes),
  )
  d.gauge(
    's3cachefs_cache_pinned_bytes',
    'Bytes of pinned data in the disk cache',
    [],
    one(x => x.cache.pinnedBytes),
  )
  d.gauge(
    's3cachefs_cache_blocks',
    'Blocks in the disk cache',
    [],
    one(x => x.cache.blocks),
  )
  d.counter(
    's3cachefs_cache_evicted_blocks_total',
    'Blocks evicted to stay under the bound',
    [],
    one(x => x.cache.evictedBlocks),
  )
  d.counter(
    's3cachefs_cache_ttl_dropped_blocks_total',
    'Blocks dropped because they outlived their TTL',
    [],
    one(x => x.cache.ttlDroppedBlocks),
  )
  d.counter(
    's3cachefs_cache_ttl_dropped_bytes_total',
    'Bytes dropped because they outlived their TTL',
    [],
    one(x => x.cache.ttlDroppedBytes),
  )
  d.counter(
    's3cachefs_cache_freed_bytes_total',
    'Bytes dropped by s3cachefs free',
    [],
    one(x => x.cache.freedBytes),
  )
  d.counter(
    's3cachefs_cache_corrupt_blocks_total',
    'Cached blocks that failed their checksum',
    [],
    one(x => x.cache.corruptBlocks),
  )
  d.counter(
    's3cachefs_cache_write_errors_total',
    'Failed block writes',
    [],
    one(x => x.cache.writeErrors),
  )
  d.counter(
    's3cachefs_cache_dropped_writes_total',
    'Block writes skipped (too many pending, or no room)',
    [],
    one(x => x.cache.droppedWrites),
  )
}
