// The prefetch workload's target rows (issue 9): the serial announced reader as
// files/s × TTFB against 5, the plain reader informational, the cache-pressure
// hit ratio with prefetch over without against 1; n/a for missing runs; the
// rows reach the markdown report and leave it when the workload is skipped.
import t from 'tap'
import { renderMarkdown } from '../../tools/bench/report/markdown.js'
import { prefetchWorkload, targetRows, verdict } from '../../tools/bench/report/ratios.js'
import type { BenchResults, PhaseCost, SystemResult } from '../../tools/bench/results.js'
import type { PrefetchResult, PressureEpoch } from '../../tools/bench/workloads/prefetch-targets.js'

const cost: PhaseCost = { requests: { GET: 10, GET_RANGE: 0, HEAD: 0, LIST: 1, PUT: 0, OTHER: 0 }, bytesDown: 1, bytesUp: 0, httpErrors: 0, harnessCpuSeconds: 0 }

const pressure = (withPrefetch: number[], without: number[]): PressureEpoch[] => [
  ...withPrefetch.map((hitRatio, i) => ({ prefetch: true, epoch: i + 1, imagesPerSecond: 100, hitRatio, gets: 10 })),
  ...without.map((hitRatio, i) => ({ prefetch: false, epoch: i + 1, imagesPerSecond: 100, hitRatio, gets: 10 })),
]

function results(prefetch: PrefetchResult | undefined, skip: string[] = []): BenchResults {
  const s3cachefs: SystemResult = { name: 's3cachefs', label: 's3cachefs', role: 'candidate', ...(prefetch === undefined ? {} : { prefetch }) }
  return {
    version: 1, startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:01:00.000Z', durationSeconds: 60,
    settings: { quick: true, workers: 8, batch: 256, epochs: 2, stepSeconds: 0, systems: ['s3cachefs'], skip, argv: [] },
    machine: { cores: 2, cpuModel: 'Test CPU', memoryBytes: 2 ** 30, kernel: 'Linux', os: 'Debian 12', node: 'v20', s3fsVersion: '', rcloneVersion: '', fuseVersion: '' },
    server: { flavour: 'synthetic', note: 'http://127.0.0.1:1' },
    pageCache: { dropped: true, note: 'dropped' },
    dataset: { seed: 1, imageFiles: 2000, imageClasses: 20, imageBytes: 2000 * 110_000, imageMeanBytes: 110_000, imageMinBytes: 60_000, imageMaxBytes: 160_000, shardBytes: 0, metadataObjects: 0, metadataDirs: 0 },
    systems: [s3cachefs],
    notes: [],
  } as BenchResults
}

const full: PrefetchResult = {
  ttfbMs: 20,
  serial: [
    { announced: false, files: 1000, filesPerSecond: 60, errors: 0, cost },
    { announced: true, files: 1000, filesPerSecond: 300, announceSeconds: 0.2, errors: 0, cost },
  ],
  pressure: { cacheBytes: 110_000_000, datasetBytes: 220_000_000, epochs: pressure([0.3, 0.5, 0.7], [0.1, 0.4, 0.6]) },
}

t.test('serial reader: files/s × TTFB against 5; the plain reader is informational', async t => {
  const rows = targetRows(results(full))
  const serial = rows.find(r => r.metric.startsWith('serial reader'))
  t.equal(serial?.ratio, 6, '300 files/s × 0.02 s')
  t.equal(serial?.target, 5)
  t.equal(verdict(serial!), 'PASS')
  t.match(serial?.note, /300 files\/s, TTFB 20 ms/)
  const plain = rows.find(r => r.metric.startsWith('the same serial reader'))
  t.ok(Math.abs((plain?.ratio ?? 0) - 1.2) < 1e-9, '60 files/s × 0.02 s')
  t.equal(plain?.target, null)
  t.equal(verdict(plain!), 'info')
})

t.test('cache pressure: mean hit ratio after the first epoch, with over without prefetch, against 1', async t => {
  const row = targetRows(results(full)).find(r => r.metric.startsWith('hit ratio'))
  t.ok(Math.abs((row?.ratio ?? 0) - 0.6 / 0.5) < 1e-9, '(0.5+0.7)/2 over (0.4+0.6)/2')
  t.equal(row?.target, 1)
  t.equal(verdict(row!), 'PASS')
  t.match(row?.note, /cache 110 MB for 220 MB of data; with prefetch 60\.0 %, without 50\.0 %/)
  const lower = targetRows(results({ ...full, pressure: { ...full.pressure!, epochs: pressure([0, 0.3], [0, 0.6]) } })).find(r => r.metric.startsWith('hit ratio'))
  t.equal(verdict(lower!), 'FAIL', 'a lower hit ratio with prefetch fails')
  const zeros = targetRows(results({ ...full, pressure: { ...full.pressure!, epochs: pressure([0, 0], [0, 0]) } })).find(r => r.metric.startsWith('hit ratio'))
  t.equal(zeros?.ratio, 1, 'both 0: equal, not n/a')
})

t.test('missing runs are n/a; no prefetch result, no rows', async t => {
  const mine = (r: BenchResults) => targetRows(r).filter(row => prefetchWorkload(row.metric) === 'prefetch')
  const failed = mine(results({ ttfbMs: 20, error: 'mount failed' }))
  t.same(failed.map(r => verdict(r)), ['n/a', 'n/a', 'n/a'])
  t.match(failed[0]?.note, /failed: mount failed/)
  t.same(mine(results(undefined)), [])
})

t.test('the rows are in the markdown report, and not when the workload is skipped', async t => {
  const md = renderMarkdown(results(full))
  t.match(md, /serial reader of an announced shuffled list \(prefetch --list\), files\/s × TTFB \| latency bound \(1 \/ TTFB files\/s\) \| 6\.00×/)
  t.match(md, /hit ratio \(bytes\), dataset 2× the disk cache/)
  t.notMatch(renderMarkdown(results(full, ['prefetch'])), /serial reader of an announced/)
})
