// The report renders from a fixed results object: markdown tables per
// workload with ratios and targets, and well-formed SVG charts whose bars are
// proportional to their values.
import t, { type Test } from 'tap'
import { renderMarkdown } from '../../tools/bench/report/markdown.js'
import { systemPhases } from '../../tools/bench/report/phases.js'
import { targetRows, verdict } from '../../tools/bench/report/ratios.js'
import { escapeXml } from '../../tools/local-s3/s3-xml.js'
import { legendLines, niceMax, renderGroupedBars } from '../../tools/bench/report/svg-chart.js'
import { loaderChart, metadataChart, shardChart, shardRandomChart, writesChart } from '../../tools/bench/report/write-report.js'
import { SHARD_RUN_NAMES, type BenchResults, type DurableVia, type EpochResult, type PhaseCost, type ShardRun, type SystemResult, type WriteRow, type WriteRun, type WriteTest } from '../../tools/bench/results.js'

const cost = (gets: number): PhaseCost => ({
  requests: { GET: gets, GET_RANGE: 0, HEAD: 10, LIST: 2, PUT: 0, OTHER: 0 },
  bytesDown: gets * 110_000,
  bytesUp: 0,
  httpErrors: 0,
  daemon: { cpuSeconds: 1.5, peakRssBytes: 200 * 1048576, hwmBytes: 210 * 1048576 },
  serverCpuSeconds: 3,
  harnessCpuSeconds: 1,
})

const epoch = (n: number, ips: number): EpochResult => ({
  epoch: n, images: 5000, bytes: 5000 * 110_000, wallSeconds: 5000 / ips, imagesPerSecond: ips,
  wallImagesPerSecond: ips, megabytesPerSecond: (ips * 110_000) / 1e6, errors: 0, pageCacheDropped: true, cost: cost(n === 1 ? 5000 : 0),
})

/** A write run of the fixture's sizes (1 GiB file, 1,000 × 100 KB); null times are failures. */
const wrun = (test: WriteTest, close: number | null, durable: number | null, via: DurableVia, error?: string): WriteRun => {
  const bytes = test === 'checkpoint' ? 1 << 30 : 1000 * 100_000
  const rate = (x: number | null) => (x === null ? null : bytes / x / 1e6)
  const r: WriteRun = { test, files: test === 'checkpoint' ? 1 : 1000, bytes, closeSeconds: close, durableSeconds: durable, closeMegabytesPerSecond: rate(close), durableMegabytesPerSecond: rate(durable), durableVia: via, cost: cost(0) }
  return error === undefined ? r : { ...r, error }
}

/** [close, durable, flush?] seconds for the checkpoint and the small files. */
const wrow = (name: string, label: string, via: DurableVia, file: [number, number, number?], small: [number, number, number?]): WriteRow => ({
  name,
  label,
  runs: ([['checkpoint', file], ['small-files', small]] as const).map(([test, [close, durable, flush]]) => ({ ...wrun(test, close, durable, via), ...(flush === undefined ? {} : { flushSeconds: flush }) })),
})

/** The fixture's random reads: 102 × 256 KiB of its 256 MiB shard. */
const RANDOM_BYTES = 102 * 262_144

/**
 * A shard run: sequential runs read the whole shard, random ones 102 blocks;
 * cold runs of systems that fetch from the store download 1.5× what they read.
 */
const shardRun = (system: string, name: ShardRun['name'], rate: number): ShardRun => {
  const random = name.includes('rand')
  const bytes = random ? RANDOM_BYTES : 1 << 28
  const fetches = !['local', 'passthrough'].includes(system) && name.startsWith('cold')
  const c: PhaseCost = {
    requests: { GET: 0, GET_RANGE: fetches ? 64 : 0, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 },
    bytesDown: fetches ? bytes * 1.5 : 0,
    bytesUp: 0,
    httpErrors: 0,
    ...(system === 'local' || system === 'direct' ? {} : { daemon: { cpuSeconds: 0.5, peakRssBytes: 50 * 1048576, hwmBytes: 60 * 1048576, peakThreads: 11 } }),
    harnessCpuSeconds: 0.1,
  }
  return { name, readers: name.endsWith('4') ? 4 : 1, pattern: random ? 'random' : 'sequential', readBytes: random ? 262_144 : 1 << 20, bytes, seconds: bytes / rate / 1e6, megabytesPerSecond: rate, errors: 0, cost: c }
}

/**
 * `shard`: cold sequential MB/s (warm is 3×); `random`: MB/s of cold-rand,
 * warm-rand, cold-rand4, warm-rand4 (default: shard/20, shard/2, shard/10, shard).
 */
function system(name: string, label: string, role: SystemResult['role'], rates: number[], shard: number, find: number, random = [shard / 20, shard / 2, shard / 10, shard]): SystemResult {
  const rate = [shard, shard * 3, shard, shard * 3, ...random]
  return {
    name, label, role,
    loader: { listSeconds: 1, listedFiles: 5000, listCost: cost(0), epochs: rates.map((r, i) => epoch(i + 1, r)) },
    shard: { runs: SHARD_RUN_NAMES.map((n, i) => shardRun(name, n, rate[i]!)) },
    metadata: { runs: (['find', 'ls-lR'] as const).flatMap((op) => (['cold', 'warm'] as const).map((state) => ({ op, state, entries: 10_000, seconds: 10_000 / find, entriesPerSecond: find, cost: cost(0) }))) },
  }
}

function fixture(): BenchResults {
  return {
    version: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:04:00.000Z',
    durationSeconds: 240,
    settings: { quick: true, workers: 8, batch: 256, epochs: 3, stepSeconds: 0, systems: ['s3cachefs', 's3fs', 'local', 'passthrough', 'direct'], skip: [], argv: ['--quick'], s3cachefsMemoryCacheBytes: 256 * 1048576 },
    machine: { cores: 2, cpuModel: 'Test CPU', memoryBytes: 24 * 2 ** 30, kernel: 'Linux 6.1', os: 'Debian 12', node: 'v20.0.0', s3fsVersion: 'V1.90', rcloneVersion: 'rclone v1.60.1-DEV', fuseVersion: '3.14' },
    server: { flavour: 'devtools', note: 'http://127.0.0.1:1' },
    link: {
      configured: { ttfbMs: 20, megabytesPerSecond: 80 },
      tinyGetMsViaLink: 23, tinyGetMsDirect: 1.5, singleConnectionMegabytesPerSecond: 78,
      serverCapacity: { concurrency: 64, getsPerSecondViaLink: 700, getsPerSecondDirect: 800, serverCpuUtilisation: 0.95, megabytesPerSecondViaLink: 77 },
    },
    pageCache: { dropped: true, note: 'dropped before every measured phase' },
    dataset: {
      seed: 1, imageFiles: 5000, imageClasses: 100, imageBytes: 5000 * 110_000, imageMeanBytes: 110_000, imageMinBytes: 20_000, imageMaxBytes: 500_000, shardBytes: 1 << 28, shardRandomReads: 102, shardRandomReadBytes: 262_144, metadataObjects: 10_000, metadataDirs: 100,
      writeCheckpointBytes: 1 << 30, writeSmallFiles: 1000, writeSmallFileBytes: 100_000,
    },
    systems: [
      {
        ...system('s3cachefs', 's3cachefs', 'candidate', [600, 3000, 3100], 400, 20_000),
        writes: { rows: [wrow('s3cachefs', 's3cachefs', 'poll', [20, 20.5, 20.9], [10, 10.2, 10.6]), wrow('s3cachefs-async', 's3cachefs async', 'poll', [2, 16, 16.3], [1, 8, 8.3])] },
      },
      { ...system('s3fs', 's3fs-fuse', 'baseline', [50, 300, 310], 100, 1000, [12, 30, 18, 60]), writes: { rows: [wrow('s3fs', 's3fs-fuse', 'poll', [30, 30.1], [40, 40.2])] } },
      { ...system('local', 'local disk', 'limit', [4000, 4000, 4000], 900, 100_000), writes: { rows: [wrow('local', 'local disk', 'sync', [1, 4], [0.5, 1])] } },
      { ...system('passthrough', 'FUSE ceiling (libfuse3 passthrough_ll)', 'limit', [3200, 3300, 3400], 450, 50_000, [22.5, 250, 45, 400]), notes: ['FUSE ceiling: passthrough_ll (libfuse 3.14.0) accepts -o max_threads=16, but ...'] },
      { ...system('direct', 'direct GETs', 'limit', [700], 500, 50_000) },
      { ...system('rclone', 'rclone mount', 'peer', [60, 1500, 1500], 200, 2000), writes: { rows: [wrow('rclone', 'rclone mount', 'poll', [3, 18], [2, 12])] } },
      { name: 'mountpoint', label: 'mountpoint-s3', role: 'candidate', error: 'mount failed: no such command' },
    ],
    notes: ['a note'],
  }
}

/** `s` with the daemon's CPU seconds of its shard run `name` set to `cpu`. */
function withShardCpu(s: SystemResult, name: ShardRun['name'], cpu: number): SystemResult {
  return { ...s, shard: { runs: s.shard!.runs.map((run) => (run.name === name ? { ...run, cost: { ...run.cost, daemon: { ...run.cost.daemon!, cpuSeconds: cpu } } } : run)) } }
}

/** A strict little well-formedness check: balanced tags, quoted attributes, known entities, one root. */
function assertWellFormedXml(t: Test, xml: string): void {
  const stack: string[] = []
  let roots = 0
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->|([^<]+)|(<)/g
  for (const m of xml.matchAll(tag)) {
    if (m[6] !== undefined) { t.fail(`stray '<' at ${m.index}`); return }
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) t.fail(`bad entity in text: ${m[5].slice(0, 40)}`)
      if (stack.length === 0 && m[5].trim() !== '') t.fail('text outside the root')
      continue
    }
    if (m[2] === undefined) continue
    if (m[1] === '/') {
      const open = stack.pop()
      if (open !== m[2]) { t.fail(`</${m[2]}> closes <${open}>`); return }
    } else {
      if (stack.length === 0) roots++
      if (m[4] !== '/') stack.push(m[2])
    }
  }
  t.same(stack, [], 'every tag is closed')
  t.equal(roots, 1, 'one root element')
}


t.test('markdown has a table per workload, ratios and targets', async (t) => {
  const md = renderMarkdown(fixture())
  for (const heading of ['## Setup', '### Emulated link', '## Targets', '## Loader', '## Large shard', '## Metadata', '## Checkpoint writes (1 GiB file; 1,000 × 100 KB files)', '## Cost per phase', '## Notes']) t.match(md, heading)
  t.match(md, '| s3cachefs | cold epoch (1) images/s | s3fs-fuse epoch 1 | 12.00× | ≥ 9× | PASS |')
  t.match(md, '| s3cachefs | cold epoch (1) images/s | direct-GET limit | 0.86× | ≥ 0.8× | PASS |')
  t.match(md, 'local disk (mean of epochs) | 0.75× | ≥ 0.7× | PASS |')
  t.match(md, '| s3cachefs | shard cold sequential MB/s | direct-GET limit | 0.80× | ≥ 0.9× | FAIL |')
  t.match(md, '| s3cachefs | shard cold sequential MB/s | s3fs-fuse | 4.00× | ≥ 1.5× | PASS |')
  t.match(md, '| s3cachefs | shard cold sequential, daemon CPU per GiB | rclone mount (its CPU per GiB ÷ ours), per run | 1.00× | ≥ 1× (1 reader 1.00×; 4 readers 1.00×) | PASS |')
  t.match(md, 's3fs-fuse find cold | 20.00× | ≥ 10× (target is stated for 100k objects) | PASS |')
  t.match(md, '600 img/s · 66.0 MB/s (12.0× s3fs)')
  t.match(md, '(= epoch 1: no cache)')
  t.match(md, 'mountpoint-s3 | failed: mount failed: no such command')
  t.match(md, '| rclone | rclone v1.60.1-DEV |')
  t.match(md, '| rclone mount | 1.0 s (5,000 files) | 60 img/s · 6.6 MB/s (1.2× s3fs) |')
  // A peer gets no target rows of its own; candidates get informational ratios against it.
  t.notMatch(md, /^\| rclone mount \| cold epoch/m)
  t.match(md, '| s3cachefs | cold epoch (1) images/s | rclone mount epoch 1 | 10.00× |  | info |')
  t.match(md, '| s3cachefs | mean warm epoch images/s | rclone mount mean warm epoch | 2.03× |  | info |')
  t.match(md, '| s3cachefs | shard cold sequential MB/s | rclone mount | 2.00× |  | info |')
  t.match(md, '| s3cachefs | find cold entries/s | rclone mount find cold | 10.00× |  | info |')
  t.match(md, '2 cores (Test CPU), 24.0 GiB RAM')
  t.match(md, '700 GETs/s via link')
  t.match(md, '![images/s per epoch](loader.svg)')
  // Every table row has the same number of cells as its header.
  const lines = md.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('| ---')) continue
    const width = (lines[i - 1] ?? '').split(' | ').length
    for (let j = i + 1; lines[j]?.startsWith('|'); j++) t.equal((lines[j] ?? '').split(' | ').length, width, `row ${j} width`)
  }
})

t.test('checkpoint writes: table, target against the best peer, cost rows', async (t) => {
  const md = renderMarkdown(fixture())
  t.match(md, '| system | 1 GiB file: close | 1 GiB file: durable in bucket | 1,000 files: close | 1,000 files: durable in bucket |')
  t.match(md, '| s3cachefs async | 2.0 s · 536.9 MB/s | 16.0 s · 67.1 MB/s (flush returned at 16.3 s) | 1.0 s · 1,000 files/s · 100.0 MB/s | 8.0 s · 125 files/s · 12.5 MB/s (flush returned at 8.3 s) |')
  t.match(md, '| rclone mount | 3.0 s · 357.9 MB/s | 18.0 s · 59.7 MB/s | 2.0 s · 500 files/s · 50.0 MB/s | 12.0 s · 83 files/s · 8.3 MB/s |')
  t.match(md, '| local disk | 1.0 s · 1,073.7 MB/s | 4.0 s · 268.4 MB/s (synced to disk) |')
  t.notMatch(md, /^\| direct GETs \| [^|]*close/m, 'no write row for direct GETs')
  // sync: file 18/20.5 against rclone, small files 12/10.2 against rclone: the smaller ratio decides.
  t.match(md, '| s3cachefs | checkpoint writes, time to durable in bucket | best peer (s3fs-fuse, rclone mount) | 0.88× | ≥ 1× (both tests; 1 GiB file 0.88× vs rclone mount; 1,000 small files 1.18× vs rclone mount) | FAIL |')
  t.match(md, '| s3cachefs async | checkpoint writes, time to durable in bucket | best peer (s3fs-fuse, rclone mount) | 1.13× | ≥ 1× (both tests; 1 GiB file 1.13× vs rclone mount; 1,000 small files 1.50× vs rclone mount) | PASS |')
  t.match(md, '| s3cachefs async | checkpoint writes, time until close returns | best peer (s3fs-fuse, rclone mount) | 1.50× | 1 GiB file 1.50× vs rclone mount; 1,000 small files 2.00× vs rclone mount | info |')
  t.match(md, /\| s3cachefs async \| write checkpoint \| 0 \| 0 \| 10 \|/)
  t.match(md, /\| rclone mount \| write small-files \|/)
  t.match(md, '![checkpoint writes MB/s](writes.svg)')
})

t.test("the daemon's peak RSS over every phase against the 512 MiB bound", async (t) => {
  // The fixture's phases peak at 200 MiB (loader, metadata and write costs).
  const rssRow = (r: BenchResults) => targetRows(r).find((x) => x.system === 's3cachefs' && x.metric === 'daemon peak RSS, every measured phase')!
  const r = fixture()
  // The larger of the sampled peak and the high-water mark (210 MiB in the fixture's costs).
  t.match(renderMarkdown(r), '| s3cachefs | daemon peak RSS, every measured phase | 512 MiB bound (ratio: bound ÷ peak) | 2.44× | ≥ 1× (peak 210 MiB in listing) | PASS |')
  // One shard run above the bound decides; a write test is named with its mount variant.
  const shard = r.systems[0]!.shard!.runs.find((x) => x.name === 'cold-rand4')!
  Object.assign(shard, { cost: { ...shard.cost, daemon: { cpuSeconds: 1, peakRssBytes: 604 * 1048576, hwmBytes: 604 * 1048576 } } })
  t.equal(verdict(rssRow(r)), 'FAIL')
  t.match(rssRow(r).note, 'peak 604 MiB in shard cold-rand4')
  const write = r.systems[0]!.writes!.rows[1]!.runs[0]!
  Object.assign(write, { cost: { ...write.cost, daemon: { cpuSeconds: 1, peakRssBytes: 700 * 1048576, hwmBytes: 700 * 1048576 } } })
  t.match(rssRow(r).note, 'peak 700 MiB in s3cachefs async, write checkpoint')
  t.equal(rssRow({ ...r, systems: r.systems.map((s) => (s.name === 's3cachefs' ? { ...s, error: 'mount failed' } : s)) }), undefined, 'no row for a system that did not run')
  // A high-water mark above every sample decides; phases with no figure are missing, not 0 MiB.
  Object.assign(write, { cost: { ...write.cost, daemon: { cpuSeconds: 1, peakRssBytes: 300 * 1048576, hwmBytes: 720 * 1048576 } } })
  t.match(rssRow(r).note, 'peak 720 MiB in s3cachefs async, write checkpoint')
  const none = fixture()
  for (const p of systemPhases(none.systems[0]!)) Object.assign(p.cost, { daemon: { cpuSeconds: 0, peakRssBytes: 0, hwmBytes: 0 } })
  t.equal(verdict(rssRow(none)), 'n/a', 'no figures at all: n/a, not a pass')
})

t.test('a failed write is a failure cell, a note and n/a in the target', async (t) => {
  const r = fixture()
  const eio = 'writer failed: dd exited 1: dd: closing output file \'/mnt/ckpt.bin\': Input/output error'
  const s3c = r.systems[0]!
  s3c.writes = { rows: [{ name: 's3cachefs', label: 's3cachefs', runs: [wrun('checkpoint', null, null, 'poll', eio), wrun('small-files', 10, null, 'poll', 'not durable: s3cachefs flush failed: 1 file(s) could not be uploaded')] }] }
  const md = renderMarkdown(r)
  t.match(md, `| s3cachefs | failed: ${eio.replace(/\|/g, '\\|')} |  | 10.0 s · 100 files/s · 10.0 MB/s | failed: not durable: s3cachefs flush failed: 1 file(s) could not be uploaded |`)
  t.match(md, `- s3cachefs write checkpoint failed: ${eio}`)
  const row = targetRows(r).find((x) => x.system === 's3cachefs' && x.metric.includes('durable'))!
  t.equal(verdict(row), 'n/a')
  t.match(row.note, '1 GiB file failed; 1,000 small files failed')
  // A peer that failed is left out of "best peer"; with no peer left the target is n/a.
  const peerless = { ...r, systems: r.systems.map((s) => (s.role === 'baseline' || s.role === 'peer' ? { ...s, error: 'mount failed' } : s)) }
  t.ok(targetRows(peerless).filter((x) => x.metric.startsWith('checkpoint')).every((x) => verdict(x) === 'n/a'))
})

t.test('shard: random-read columns, bytes fetched, random and FUSE-ceiling targets', async (t) => {
  const md = renderMarkdown(fixture())
  t.match(md, '| system | cold sequential | warm sequential | cold, 4 readers | warm, 4 readers | random cold, 1 thread | random warm, 1 thread | random cold, 4 threads | random warm, 4 threads |')
  t.match(md, '| s3cachefs | 400 MB/s | 1,200 MB/s | 400 MB/s | 1,200 MB/s | 20 MB/s | 200 MB/s | 40 MB/s | 400 MB/s |')
  t.match(md, '| FUSE ceiling (libfuse3 passthrough_ll) | 450 MB/s | 1,350 MB/s | 450 MB/s | 1,350 MB/s | 23 MB/s | 250 MB/s | 45 MB/s | 400 MB/s |')
  t.match(md, 'Random: 102 preads of 256 KiB at seeded, distinct, aligned offsets in a shuffled order (10.0 % of the shard)')
  t.notMatch(md, 'median of', 'results without passes: no claim of them')
  const withPasses = { ...fixture(), systems: fixture().systems.map((s) => (s.shard ? { ...s, shard: { runs: s.shard.runs.map((run) => (run.name.startsWith('warm') ? { ...run, passes: [1, 2, 3] } : run)) } } : s)) }
  t.match(renderMarkdown(withPasses), 'warm = same mount, page cache dropped (each warm run is the median of 3 passes on the same mount, the page cache dropped before each;')
  const allPasses = { ...fixture(), systems: fixture().systems.map((s) => (s.shard ? { ...s, shard: { runs: s.shard.runs.map((run) => ({ ...run, passes: [1, 2, 3] })) } } : s)) }
  t.match(
    renderMarkdown(allPasses),
    "page cache dropped (each cold run is the median of 3 passes, each on a fresh mount and cache; each warm run is the median of 3 passes on the last of them, the page cache dropped before each; every pass's MB/s is in results.json)",
  )
  t.match(md, '| Large shard | 256 MiB; random reads: 102 × 256 KiB |')
  t.match(md, '![shard MB/s, random reads](shard-random.svg)')
  // Bytes fetched: only systems that made requests; cold runs 1.5× what was read, warm runs nothing.
  t.match(md, '### Bytes fetched from the store')
  t.match(md, '| s3cachefs | 402.7 MB (1.50×) | 0 | 402.7 MB (1.50×) | 0 | 40.1 MB (1.50×) | 0 | 40.1 MB (1.50×) | 0 |')
  const fetched = md.slice(md.indexOf('### Bytes fetched'), md.indexOf('## Metadata'))
  t.notMatch(fetched, '| local disk |')
  t.notMatch(fetched, '| FUSE ceiling')
  // Random cold: per thread count against the faster of s3fs-fuse and rclone; the smaller ratio decides.
  t.match(md, '| s3cachefs | shard random 256 KiB reads cold MB/s | best peer (s3fs-fuse, rclone mount), per thread count | 1.67× | ≥ 1× (1 and 4 threads; 1 thread 1.67× vs s3fs-fuse; 4 threads 2.00× vs rclone mount) | PASS |')
  t.match(md, '| s3cachefs | shard random 256 KiB reads warm MB/s | local disk, per thread count | 0.44× | ≥ 0.8× (1 and 4 threads; 1 thread 0.44×; 4 threads 0.44×; the data (268 MB) fits the 256 MiB memory cache, so warm reads may come from memory, not the disk cache) | FAIL |')
  // The FUSE ceiling: every warm shard run, and the slowest warm epoch against the ceiling's mean epoch.
  t.match(md, '| s3cachefs | shard warm reads MB/s (from the disk cache) | FUSE ceiling (passthrough_ll), per run | 0.80× | ≥ 0.9× (every warm run; sequential 0.89×; 4 readers 0.89×; random 0.80×; random 4 threads 1.00×;')
  t.match(md, '| s3cachefs | slowest warm epoch images/s (from the disk cache) | FUSE ceiling (passthrough_ll, mean of epochs) | 0.91× | ≥ 0.9× | PASS |', '550 MB of images do not fit 256 MiB: no caveat')
  t.match(md, '- FUSE ceiling: passthrough_ll (libfuse 3.14.0) accepts -o max_threads=16', "the system's own note")
  t.match(md, /\| FUSE ceiling \(libfuse3 passthrough_ll\) \| shard warm-rand4 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0\.0 \| 0\.0 \| 0\.50 \| 50 \|/, 'daemon CPU and RSS of the ceiling per run')
  t.match(md, /\| s3cachefs \| shard cold-rand4 \| 0 \| 64 \|/, 'the random runs are costed')
  // CPU per cold GiB against rclone mount's: each sequential run; a run without the daemon's figures is n/a.
  const cpuRow = (res: BenchResults) => targetRows(res).find((x) => x.system === 's3cachefs' && x.metric === 'shard cold sequential, daemon CPU per GiB')!
  const busier = { ...fixture(), systems: fixture().systems.map((s) => (s.name === 's3cachefs' ? withShardCpu(s, 'cold-par4', 0.8) : s)) }
  t.equal(cpuRow(busier).ratio, 0.625)
  t.equal(verdict(cpuRow(busier)), 'FAIL')
  t.match(cpuRow(busier).note, '1 reader 1.00×; 4 readers 0.63×')
  const uncounted = { ...fixture(), systems: fixture().systems.map((s) => (s.name === 'rclone' ? { ...s, shard: { runs: s.shard!.runs.map(({ cost: { daemon: _d, ...c }, ...run }) => ({ ...run, cost: c })) } } : s)) }
  t.equal(verdict(cpuRow(uncounted)), 'n/a')
  // Without the ceiling in the run, its rows are n/a, not zero.
  const r = fixture()
  const noCeiling = targetRows({ ...r, systems: r.systems.filter((s) => s.name !== 'passthrough') }).filter((x) => x.system === 's3cachefs' && x.against.startsWith('FUSE ceiling'))
  t.equal(noCeiling.length, 2)
  t.ok(noCeiling.every((x) => verdict(x) === 'n/a'))
  // Results from before random reads existed: n/a cells and n/a random targets.
  const old = { ...r, systems: r.systems.map((s) => (s.shard ? { ...s, shard: { runs: s.shard.runs.filter((x) => !x.name.includes('rand')) } } : s)) }
  const oldMd = renderMarkdown(old)
  t.match(oldMd, '| s3cachefs | 400 MB/s | 1,200 MB/s | 400 MB/s | 1,200 MB/s | n/a | n/a | n/a | n/a |')
  t.ok(targetRows(old).filter((x) => x.system === 's3cachefs' && x.metric.startsWith('shard random')).every((x) => verdict(x) === 'n/a'))
})

t.test('skipped workloads leave no section, no chart link and no target row', async (t) => {
  const r = fixture()
  const noWrites = renderMarkdown({ ...r, settings: { ...r.settings, skip: ['writes'] } })
  t.notMatch(noWrites, '## Checkpoint writes')
  t.notMatch(noWrites, 'writes.svg')
  t.notMatch(noWrites, 'checkpoint writes,')
  // Results from before the writes workload existed have no writes anywhere: nothing is rendered for it either.
  const old = renderMarkdown({ ...r, systems: r.systems.map(({ writes: _w, ...s }) => s) })
  t.notMatch(old, '## Checkpoint writes')
  t.notMatch(old, 'checkpoint writes,')
  const md = renderMarkdown({ ...r, settings: { ...r.settings, skip: ['shard', 'metadata'] } })
  t.notMatch(md, '## Large shard')
  t.notMatch(md, '## Metadata')
  t.notMatch(md, 'shard.svg')
  t.notMatch(md, 'shard-random.svg')
  t.notMatch(md, 'shard cold sequential')
  t.notMatch(md, 'shard random')
  t.notMatch(md, 'shard warm reads')
  t.match(md, 'slowest warm epoch images/s (from the disk cache) | FUSE ceiling', 'the loader keeps its ceiling row')
  t.notMatch(md, 'find cold entries/s')
  t.match(md, '| Large shard | skipped |')
  t.match(md, '## Loader')
})

t.test('targets: failures, n/a and verdicts', async (t) => {
  const r = fixture()
  const rows = targetRows(r)
  t.ok(rows.every((row) => ['s3cachefs', 's3cachefs async', 'mountpoint-s3'].includes(row.system)), 'only candidates (and their write modes) are judged')
  t.ok(rows.filter((row) => row.system === 'mountpoint-s3').every((row) => verdict(row) === 'n/a'), 'a failed candidate is n/a, not zero')
  const rcloneless = { ...r, systems: r.systems.map((s) => (s.name === 'rclone' ? { ...s, error: 'mount failed' } : s)) }
  t.ok(targetRows(rcloneless).filter((row) => row.against.startsWith('rclone mount')).every((row) => verdict(row) === 'n/a'), 'a failed peer is n/a')
  const s3fsless = { ...r, systems: r.systems.filter((s) => s.name !== 's3fs') }
  t.equal(verdict(targetRows(s3fsless)[0]!), 'n/a')
  t.equal(verdict({ system: 'x', metric: 'm', against: 'a', ratio: 0.5, target: 0.8 }), 'FAIL')
})

t.test('SVG charts are well-formed and bars are proportional to values', async (t) => {
  const r = fixture()
  for (const chart of [loaderChart(r), shardChart(r), shardRandomChart(r), metadataChart(r), writesChart(r)]) {
    const svg = renderGroupedBars(chart)
    assertWellFormedXml(t, svg)
    t.match(svg, chart.title)
    t.match(svg, chart.yLabel)
    // A long name wraps into tspans; joined with spaces it is the name again.
    const legend = [...svg.matchAll(/<text class="legend"[^>]*>(.*?)<\/text>/g)].map((m) => m[1]!.replace(/<\/tspan><tspan[^>]*>/g, ' ').replace(/<[^>]+>/g, ''))
    for (const s of chart.series) t.ok(legend.includes(escapeXml(s.name)), `legend has ${s.name}`)
    const bars = [...svg.matchAll(/<rect class="bar"[^>]*data-value="([^"]+)"[^>]*height="([^"]+)"/g)].map((m) => ({ value: Number(m[1]), height: Number(m[2]) }))
    const expected = chart.series.flatMap((s) => s.values.filter((v) => v !== null)).length
    t.equal(bars.length, expected, 'one bar per value')
    if (chart.scale === 'log') {
      // Heights are linear in log10(value): fit on two bars, check the rest.
      const [a, b] = [bars[0]!, bars.find((x) => x.value !== bars[0]!.value)!]
      const slope = (b.height - a.height) / (Math.log10(b.value) - Math.log10(a.value))
      t.ok(slope > 0, 'larger values draw taller bars')
      for (const x of bars) t.ok(Math.abs(x.height - (a.height + slope * (Math.log10(x.value) - Math.log10(a.value)))) < 0.05, `log bar ${x.value} has height ${x.height}`)
    } else {
      const k = (bars[0]?.height ?? 0) / (bars[0]?.value ?? 1)
      for (const x of bars) t.ok(Math.abs(x.height - x.value * k) < 0.05, `bar ${x.value} has height ${x.height}`)
    }
  }
  const loader = renderGroupedBars(loaderChart(r))
  t.match(loader, 'n/a', 'direct has no warm epochs: n/a, not a zero bar')
  t.match(loader, '>3,000</text>', 'values are printed on bars')
  t.same(legendLines('FUSE ceiling (libfuse3 passthrough_ll)'), ['FUSE ceiling (libfuse3', 'passthrough_ll)'])
  t.same(legendLines('s3cachefs async'), ['s3cachefs async'])
  t.equal(niceMax(4321), 5000)
  t.equal(niceMax(0), 1)
  assertWellFormedXml(t, renderGroupedBars({ title: 'a <b> & "c"', yLabel: 'y', groups: ['g&1'], series: [{ name: "s'1", values: [1] }] }))
  // Nothing measured (every system failed or skipped): still a valid, empty chart.
  for (const scale of ['log', 'linear'] as const) {
    assertWellFormedXml(t, renderGroupedBars({ title: 't', yLabel: 'y', groups: ['a', 'b'], series: [], scale }))
    assertWellFormedXml(t, renderGroupedBars({ title: 't', yLabel: 'y', groups: ['a'], series: [{ name: 's', values: [null] }], scale }))
  }
})
