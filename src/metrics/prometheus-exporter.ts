/**
 * `--metrics-port PORT`: the figures of `s3cachefs stats` as Prometheus metrics
 * (prom-client) on http://127.0.0.1:PORT/metrics. The only prom-client import.
 *
 * Counters and gauges are read from one StatsSnapshot per scrape, so the
 * endpoint and `stats` always agree; S3 latency is a real histogram, fed by
 * `observe` for every request (a RequestMetrics observer: measured once, by MeteredClient). Names follow
 * Prometheus conventions: `s3cachefs_` prefix, base units, `_total` counters.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { S3_LATENCY_BUCKETS_SECONDS } from '../config/defaults.js'
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import type { RequestKind } from '../s3/request-metrics.js'

type Labels = Record<string, string>
type Sample = [Labels, number]

export class PrometheusExporter {
  readonly #registry = new Registry()
  readonly #snapshot: () => StatsSnapshot
  readonly #latency: Histogram<'kind'>
  #current: StatsSnapshot | undefined
  #server: Server | undefined

  constructor(snapshot: () => StatsSnapshot) {
    this.#snapshot = snapshot
    collectDefaultMetrics({ register: this.#registry, prefix: 's3cachefs_' })
    this.#latency = new Histogram({
      name: 's3cachefs_s3_request_duration_seconds',
      help: 'Duration of S3 requests, retries included',
      labelNames: ['kind'],
      buckets: S3_LATENCY_BUCKETS_SECONDS,
      registers: [this.#registry],
    })
    this.#define()
  }

  /** Records one S3 request in the latency histogram, labelled with its kind as in `stats`. */
  readonly observe = (kind: RequestKind, seconds: number): void => {
    this.#latency.observe({ kind }, seconds)
  }

  /** Listens on host:port (0 picks a free port); resolves with the URL of /metrics. */
  async start(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found\n')
        return
      }
      this.render().then(
        text => res.writeHead(200, { 'content-type': this.#registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    this.#server = server
    return `http://${host}:${(server.address() as AddressInfo).port}/metrics`
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** The exposition text, from a fresh snapshot. */
  async render(): Promise<string> {
    this.#current = this.#snapshot()
    try {
      return await this.#registry.metrics()
    } finally {
      this.#current = undefined
    }
  }

  #define(): void {
    const s = () => this.#current ?? this.#snapshot()
    const kinds = (f: (k: StatsSnapshot['s3']['byKind']['get']) => number) => (): Sample[] => Object.entries(s().s3.byKind).map(([kind, k]) => [{ kind }, f(k)])
    const byCode = (m: Readonly<Record<string, number>>): Sample[] => Object.entries(m).map(([code, n]) => [{ code }, n])
    const one = (f: (x: StatsSnapshot) => number) => (): Sample[] => [[{}, f(s())]]

    this.#counter(
      's3cachefs_s3_requests_total',
      'S3 requests sent, by kind',
      ['kind'],
      kinds(k => k.count),
    )
    this.#counter(
      's3cachefs_s3_request_errors_total',
      'S3 requests that failed after retries, by kind',
      ['kind'],
      kinds(k => k.errors),
    )
    this.#counter('s3cachefs_s3_errors_total', 'S3 requests that failed after retries, by error code', ['code'], () => byCode(s().s3.errorsByCode))
    this.#counter(
      's3cachefs_s3_received_bytes_total',
      'Bytes received from S3, by kind',
      ['kind'],
      kinds(k => k.bytes),
    )
    this.#gauge(
      's3cachefs_s3_requests_in_flight',
      'S3 requests on the wire now',
      [],
      one(x => x.s3.inFlight),
    )
    this.#counter(
      's3cachefs_s3_checked_bodies_total',
      "Response bodies checked against the store's checksum or MD5 ETag",
      [],
      one(x => x.s3.integrity.checked),
    )
    this.#counter(
      's3cachefs_s3_corrupt_bodies_total',
      'Response bodies that failed that check (retried, never cached)',
      [],
      one(x => x.s3.integrity.corrupt),
    )

    this.#counter(
      's3cachefs_read_served_bytes_total',
      'Bytes returned to readers',
      [],
      one(x => x.reads.bytesServed),
    )
    this.#counter('s3cachefs_read_errors_total', 'Reads that failed, by error code', ['code'], () => byCode(s().errors.reads))
    this.#counter(
      's3cachefs_cache_memory_hits_total',
      'Block lookups answered from the in-memory block cache',
      [],
      one(x => x.reads.memoryHits),
    )
    this.#counter('s3cachefs_cache_block_loads_total', 'Blocks brought into memory, from the disk cache (hit) or S3 (miss)', ['source'], () => [
      [{ source: 'disk' }, s().reads.blocksFromDisk],
      [{ source: 's3' }, s().reads.blocksFromStore],
    ])
    this.#counter('s3cachefs_cache_loaded_bytes_total', 'Bytes brought into memory, from the disk cache or S3', ['source'], () => [
      [{ source: 'disk' }, s().reads.bytesFromDisk],
      [{ source: 's3' }, s().reads.bytesFromStore],
    ])
    this.#gauge(
      's3cachefs_cache_hit_ratio',
      'Bytes served to readers from the cache over all bytes served, since mount (0-1)',
      [],
      one(x => x.reads.hitRatio),
    )
    this.#counter('s3cachefs_read_served_from_bytes_total', 'Bytes served to readers, by where they were when asked: cache or s3', ['source'], () => [
      [{ source: 'cache' }, s().reads.bytesServedFromCache],
      [{ source: 's3' }, s().reads.bytesServedFromStore],
    ])
    this.#counter(
      's3cachefs_stale_answers_total',
      'Lookups and listings answered past their TTL because the store failed',
      [],
      one(x => x.staleIfError.staleAnswers),
    )
    this.#counter(
      's3cachefs_stale_episodes_total',
      'Store outages during which stale answers were given',
      [],
      one(x => x.staleIfError.episodes),
    )
    this.#gauge(
      's3cachefs_stale_active',
      '1 while stale answers are being given',
      [],
      one(x => (x.staleIfError.active ? 1 : 0)),
    )
    this.#gauge(
      's3cachefs_cache_disk_full',
      '1 while the cache disk is full and the bound lowered to what fits',
      [],
      one(x => (x.cache.diskFull ? 1 : 0)),
    )
    this.#counter(
      's3cachefs_direct_reads_total',
      'Reads the FUSE threads answered from block files themselves, or handed back to the event loop',
      ['outcome'],
      () => [
        [{ outcome: 'served' }, s().reads.direct.reads],
        [{ outcome: 'handed_back' }, s().reads.direct.fallbacks],
      ],
    )

    this.#gauge(
      's3cachefs_cache_used_bytes',
      'Bytes in the disk cache',
      [],
      one(x => x.cache.usedBytes),
    )
    this.#gauge(
      's3cachefs_cache_max_bytes',
      'Bound of the disk cache',
      [],
      one(x => x.cache.maxBytes),
    )
    this.#gauge(
      's3cachefs_cache_pinned_bytes',
      'Bytes of pinned data in the disk cache',
      [],
      one(x => x.cache.pinnedBytes),
    )
    this.#gauge(
      's3cachefs_cache_blocks',
      'Blocks in the disk cache',
      [],
      one(x => x.cache.blocks),
    )
    this.#counter(
      's3cachefs_cache_evicted_blocks_total',
      'Blocks evicted to stay under the bound',
      [],
      one(x => x.cache.evictedBlocks),
    )
    this.#counter(
      's3cachefs_cache_ttl_dropped_blocks_total',
      'Blocks dropped because they outlived their TTL',
      [],
      one(x => x.cache.ttlDroppedBlocks),
    )
    this.#counter(
      's3cachefs_cache_ttl_dropped_bytes_total',
      'Bytes dropped because they outlived their TTL',
      [],
      one(x => x.cache.ttlDroppedBytes),
    )
    this.#counter(
      's3cachefs_cache_freed_bytes_total',
      'Bytes dropped by s3cachefs free',
      [],
      one(x => x.cache.freedBytes),
    )
    this.#counter(
      's3cachefs_cache_corrupt_blocks_total',
      'Cached blocks that failed their checksum',
      [],
      one(x => x.cache.corruptBlocks),
    )
    this.#counter(
      's3cachefs_cache_write_errors_total',
      'Failed block writes',
      [],
      one(x => x.cache.writeErrors),
    )
    this.#counter(
      's3cachefs_cache_dropped_writes_total',
      'Block writes skipped (too many pending, or no room)',
      [],
      one(x => x.cache.droppedWrites),
    )

    this.#gauge(
      's3cachefs_fetch_queue_running',
      'Fetches running in the bounded queue',
      [],
      one(x => x.queue.running),
    )
    this.#gauge(
      's3cachefs_fetch_queue_waiting',
      'Fetches waiting in the bounded queue',
      [],
      one(x => x.queue.waiting),
    )
    this.#gauge(
      's3cachefs_load_jobs_active',
      'Load jobs listing or loading',
      [],
      one(x => x.loads.active),
    )
    this.#gauge(
      's3cachefs_load_objects_loading',
      'Files being loaded now',
      [],
      one(x => x.loads.objectsLoading),
    )
    this.#gauge(
      's3cachefs_load_planned_bytes',
      'Bytes the remembered load jobs will load',
      [],
      one(x => x.loads.bytes),
    )
    this.#gauge(
      's3cachefs_load_done_bytes',
      'Bytes the remembered load jobs have loaded',
      [],
      one(x => x.loads.bytesDone),
    )
    this.#gauge(
      's3cachefs_open_files',
      'Open file handles',
      [],
      one(x => x.openFiles),
    )
    this.#gauge(
      's3cachefs_prefetch_jobs',
      'Cross-file prefetch jobs running',
      [],
      one(x => x.prefetch.jobs),
    )
    this.#gauge(
      's3cachefs_prefetch_queue_files',
      'Files waiting in cross-file prefetch',
      [],
      one(x => x.prefetch.filesQueued),
    )
    this.#counter(
      's3cachefs_prefetch_files_total',
      'Files brought into the cache by cross-file prefetch',
      [],
      one(x => x.prefetch.filesPrefetched),
    )
    this.#counter(
      's3cachefs_prefetch_bytes_total',
      'Bytes brought into the cache by cross-file prefetch',
      [],
      one(x => x.prefetch.bytesPrefetched),
    )
    this.#counter(
      's3cachefs_prefetch_hits_total',
      'Files opened that cross-file prefetch had already brought',
      [],
      one(x => x.prefetch.hits),
    )
    this.#gauge(
      's3cachefs_prefetch_unread_bytes',
      'Prefetched bytes not opened (yet)',
      [],
      one(x => x.prefetch.bytesNotRead),
    )
    this.#gauge(
      's3cachefs_announced_files',
      'Files in the announced order (s3cachefs prefetch --list)',
      [],
      one(x => x.prefetch.announced.files),
    )
    this.#gauge(
      's3cachefs_announced_position',
      'Files of the announced order the reader has reached',
      [],
      one(x => x.prefetch.announced.position),
    )
    this.#counter(
      's3cachefs_announced_hits_total',
      'Announced files opened after the window had fetched them or started to',
      [],
      one(x => x.prefetch.announced.hits),
    )
    this.#gauge(
      's3cachefs_write_pending_files',
      'Written files not yet in the bucket',
      [],
      one(x => x.writes.pending),
    )
    this.#gauge(
      's3cachefs_write_pending_bytes',
      'Bytes of written files not yet in the bucket',
      [],
      one(x => x.writes.pendingBytes),
    )
    this.#counter(
      's3cachefs_write_uploads_total',
      'Uploads of written files that completed',
      [],
      one(x => x.writes.uploads),
    )
    this.#counter(
      's3cachefs_write_uploaded_bytes_total',
      'Bytes of written files uploaded',
      [],
      one(x => x.writes.uploadedBytes),
    )
    this.#counter(
      's3cachefs_write_upload_failures_total',
      'Upload attempts that failed (the data stays staged)',
      [],
      one(x => x.writes.failures),
    )
    this.#gauge(
      's3cachefs_staging_bytes',
      'Bytes of written data staged on local disk (bounded by --staging-size)',
      [],
      one(x => x.writes.staging.stagedBytes),
    )
    this.#counter(
      's3cachefs_staging_refusals_total',
      'Writes refused with ENOSPC at --staging-size',
      [],
      one(x => x.writes.staging.refusals),
    )
    this.#gauge(
      's3cachefs_uptime_seconds',
      'Seconds since the mount',
      [],
      one(x => x.uptimeSeconds),
    )
    this.#defineManyNodes(s)
  }

  /** The shared tier and the coordinator: no samples when they are off. */
  #defineManyNodes(s: () => StatsSnapshot): void {
    const tier = (f: (t: NonNullable<StatsSnapshot['sharedTier']>) => Sample[]) => (): Sample[] => {
      const t = s().sharedTier
      return t === undefined ? [] : f(t)
    }
    this.#counter(
      's3cachefs_shared_tier_lookups_total',
      'Shared tier lookups of blocks the disk cache missed, by result',
      ['result'],
      tier(t => [
        [{ result: 'hit' }, t.hits],
        [{ result: 'miss' }, t.misses],
      ]),
    )
    this.#counter(
      's3cachefs_shared_tier_errors_total',
      'Shared tier requests that failed or timed out (answered as misses)',
      [],
      tier(t => [[{}, t.errors]]),
    )
    this.#counter(
      's3cachefs_shared_tier_mismatches_total',
      'Shared tier objects ignored: foreign, corrupt or another version',
      [],
      tier(t => [[{}, t.mismatches]]),
    )
    this.#counter(
      's3cachefs_shared_tier_read_bytes_total',
      'Block bytes read from the shared tier',
      [],
      tier(t => [[{}, t.bytesRead]]),
    )
    this.#counter(
      's3cachefs_shared_tier_written_bytes_total',
      'Block bytes written to the shared tier',
      [],
      tier(t => [[{}, t.bytesWritten]]),
    )
    this.#counter(
      's3cachefs_shared_tier_writes_dropped_total',
      'Shared tier writes dropped because the queue was full',
      [],
      tier(t => [[{}, t.writesDropped]]),
    )
    this.#counter(
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
    this.#gauge(
      's3cachefs_coordinator_up',
      '1 while the coordinator (Redis) answers',
      [],
      coord(c => [[{}, c.connected ? 1 : 0]]),
    )
    this.#counter(
      's3cachefs_coordinator_errors_total',
      'Coordinator commands that failed (the node worked alone)',
      [],
      coord(c => [[{}, c.errors]]),
    )
    this.#counter(
      's3cachefs_listing_manifest_lookups_total',
      'Directory listings looked up in the shared manifest, by result',
      ['result'],
      coord(c => [
        [{ result: 'hit' }, c.manifest.hits],
        [{ result: 'miss' }, c.manifest.misses],
      ]),
    )
  }

  #counter(name: string, help: string, labelNames: string[], samples: () => Sample[]): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [labels, v] of samples()) this.inc(labels, v)
      },
    })
  }

  #gauge(name: string, help: string, labelNames: string[], samples: () => Sample[]): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [labels, v] of samples()) this.set(labels, v)
      },
    })
  }
}
