// The two-node workload's pure parts, from fake results (no mount): the
// report's section (a row per node and scenario, an A+B row for the
// concurrent ones, failures as cells and notes), its cost rows, the
// informational target rows and their ratios, a node's figures from its
// readers' results, how a node is mounted (tier, coordinator) and how Redis
// is started.
import t from 'tap'
import { renderMarkdown } from '../../tools/bench/report/markdown.js'
import { gets, nodesSection, originGetsPerFile } from '../../tools/bench/report/nodes-section.js'
import { targetRows, verdict } from '../../tools/bench/report/ratios.js'
import { redisArgs } from '../../tools/bench/env/redis-server.js'
import { NODES_SCENARIOS, type BenchResults, type NodeRun, type NodesResult, type NodesScenario, type PhaseCost } from '../../tools/bench/results.js'
import { firstErrorLine, nodeVariant } from '../../tools/bench/systems/s3cachefs-system.js'
import { nodeFigures, SCENARIO_SPECS, tierPrefix, TIER_BUCKET } from '../../tools/bench/workloads/nodes.js'

const FILES = 2000

const counts = (get: number, ranged = 0, put = 0) => ({ GET: get, GET_RANGE: ranged, HEAD: 0, LIST: 3, PUT: put, OTHER: 0 })

const cost = (origin: number): PhaseCost => ({
  requests: counts(origin),
  bytesDown: origin * 110_000,
  bytesUp: 0,
  httpErrors: 0,
  daemon: { cpuSeconds: 2, peakRssBytes: 150 * 1048576, hwmBytes: 160 * 1048576 },
  serverCpuSeconds: 4,
  harnessCpuSeconds: 1,
})

/** [images/s, origin GETs, tier (ranged) GETs, tier PUTs] */
const run = (node: 'A' | 'B', ips: number, origin: number, tierGets: number, puts: number, errors = 0): NodeRun => ({
  node,
  images: FILES - errors,
  bytes: (FILES - errors) * 110_000,
  wallSeconds: FILES / ips,
  imagesPerSecond: ips,
  megabytesPerSecond: (ips * 110_000) / 1e6,
  errors,
  ...(errors > 0 ? { firstError: 'EIO: i/o error' } : {}),
  originRequests: counts(origin),
  tierRequests: counts(0, tierGets, puts),
  ...(tierGets + puts > 0 ? { tier: { hits: tierGets - 10, misses: 10, writes: puts, writesDropped: 0, leaseWaits: 0, leaseWaitHits: 0 } } : {}),
  cost: cost(origin),
})

function nodes(): NodesResult {
  const spec = (scenario: NodesScenario) => ({ scenario, ...SCENARIO_SPECS[scenario] })
  return {
    files: FILES,
    scenarios: [
      { ...spec('sequential'), runs: [run('A', 400, 2000, 0, 0), run('B', 410, 2000, 0, 0)] },
      { ...spec('sequential-tier'), runs: [run('A', 380, 2000, 2000, 2000), run('B', 900, 3, 2000, 3)] },
      { ...spec('concurrent-tier'), runs: [run('A', 250, 1900, 2000, 1900), run('B', 240, 1880, 2000, 1880)] },
      { ...spec('concurrent-redis'), runs: [run('A', 230, 1010, 2000, 1010), run('B', 235, 1030, 2000, 1030)] },
    ],
  }
}

function fixture(n: NodesResult | null = nodes(), skip = ['loader', 'shard', 'metadata', 'writes', 'torch', 'calibration']): BenchResults {
  return {
    version: 1,
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:02:00.000Z',
    durationSeconds: 120,
    settings: { quick: true, workers: 8, batch: 256, epochs: 1, stepSeconds: 0, systems: ['s3cachefs'], skip, argv: ['--quick'] },
    machine: { cores: 2, cpuModel: 'Test CPU', memoryBytes: 24 * 2 ** 30, kernel: 'Linux 6.1', os: 'Debian 12', node: 'v20.0.0', s3fsVersion: undefined, rcloneVersion: undefined, fuseVersion: '3.14' },
    server: { flavour: 'devtools', note: 'http://127.0.0.1:1' },
    pageCache: { dropped: true, note: 'dropped before every measured phase' },
    dataset: { seed: 1, imageFiles: FILES, imageClasses: 40, imageBytes: FILES * 110_000, imageMeanBytes: 110_000, imageMinBytes: 20_000, imageMaxBytes: 500_000, shardBytes: 1 << 28, metadataObjects: 5000, metadataDirs: 50 },
    systems: [{ name: 's3cachefs', label: 's3cachefs', role: 'candidate', ...(n === null ? {} : { nodes: n }) }],
    notes: [],
  } as BenchResults
}

const rowsOf = (md: string, prefix: string): string[] => md.split('\n').filter((l) => l.startsWith(prefix))

t.test('the section: a row per node and scenario, A+B for the concurrent ones', async (t) => {
  const md = renderMarkdown(fixture())
  t.match(md, /## Two nodes \(2,000 images each\)/)
  t.match(md, /\| scenario \| node \| images\/s \| s \| origin GETs \| origin GETs per file \| tier GETs \| tier PUTs \|/)
  t.same(rowsOf(md, '| B after A, shared tier |'), [
    '| B after A, shared tier | A | 380 | 5.3 | 2,000 | 1.00 | 2,000 | 2,000 |',
    '| B after A, shared tier | B | 900 | 2.2 | 3 | 0.00 | 2,000 | 3 |',
  ])
  t.same(rowsOf(md, '| A and B at once, shared tier + Redis |'), [
    '| A and B at once, shared tier + Redis | A | 230 | 8.7 | 1,010 | 0.51 | 2,000 | 1,010 |',
    '| A and B at once, shared tier + Redis | B | 235 | 8.5 | 1,030 | 0.52 | 2,000 | 1,030 |',
    '| A and B at once, shared tier + Redis | A+B | 465 | 8.7 | 2,040 | 1.02 | 4,000 | 2,040 |',
  ])
  t.equal(rowsOf(md, '| B after A, no tier |').length, 2, 'sequential scenarios have no A+B row')
  t.match(md, /\| s3cachefs node B \| nodes concurrent-redis \| 1,030 \|/, 'each node\'s cost is a phase of its own')
  t.notMatch(md, /## Loader/, 'skipped workloads still leave no section')
})

t.test('ratios: informational rows for B after A and for A+B at once', async (t) => {
  const rows = targetRows(fixture()).filter((r) => r.metric.startsWith('two nodes'))
  t.equal(rows.length, 4)
  const [bGets, bSpeed, redis, noRedis] = rows
  t.equal(bGets?.ratio, 3 / FILES)
  t.equal(bGets?.note, 'aim: ≈ 0')
  t.equal(bSpeed?.ratio, 900 / 410)
  t.equal(redis?.ratio, 2040 / FILES)
  t.equal(noRedis?.ratio, 3780 / FILES)
  for (const row of rows) t.equal(verdict(row), 'info', `${row.metric}: no pass/fail, the aims are "about"`)
  t.equal(originGetsPerFile(nodes(), 'concurrent-tier'), 3780 / FILES)
  t.equal(gets(counts(5, 7)), 12, 'whole and ranged GETs both count')
  const md = renderMarkdown(fixture())
  t.match(md, /\| s3cachefs \| two nodes at once: origin GETs of A\+B per file \(tier \+ Redis\) \| files in the dataset \| 1\.02× \| aim: ≈ 1 \| info \|/)
})

t.test('a failed scenario is a failure cell, a note and n/a; read errors are noted and not compared', async (t) => {
  const n = nodes()
  n.scenarios[3] = { scenario: 'concurrent-redis', ...SCENARIO_SPECS['concurrent-redis'], runs: [], error: 'redis-server is not installed' }
  n.scenarios[1] = { ...n.scenarios[1]!, runs: [run('A', 380, 2000, 2000, 2000), run('B', 700, 0, 1500, 0, 500)] }
  const md = renderMarkdown(fixture(n))
  t.match(md, /\| A and B at once, shared tier \+ Redis \|  \| failed: redis-server is not installed \|/)
  t.match(md, /- s3cachefs two nodes, A and B at once, shared tier \+ Redis: failed: redis-server is not installed/)
  t.match(md, /- s3cachefs two nodes, B after A, shared tier, node B: 500 read errors, first: EIO: i\/o error/)
  t.match(md, /\| 700 ⚠ 500 errors \|/)
  const rows = targetRows(fixture(n)).filter((r) => r.metric.startsWith('two nodes'))
  t.same(rows.map((r) => r.ratio === null), [true, true, true, false], 'a node with read errors or a failed scenario gives n/a')
  const whole = renderMarkdown(fixture({ files: 0, scenarios: [], error: 'could not create the tier bucket' }))
  t.match(whole, /\|  \|  \| failed: could not create the tier bucket \|/)
  t.match(whole, /- s3cachefs two nodes failed: could not create the tier bucket/)
})

t.test('skipped, or results from before the workload: no section and no target rows', async (t) => {
  const skipped = fixture(nodes(), ['loader', 'shard', 'metadata', 'writes', 'torch', 'nodes', 'calibration'])
  t.notMatch(renderMarkdown(skipped), /Two nodes|two nodes/)
  const older = fixture(null)
  t.notMatch(renderMarkdown(older), /Two nodes|two nodes/)
  t.same(targetRows(older).filter((r) => r.metric.startsWith('two nodes')), [])
  t.match(nodesSection(fixture()), /^## Two nodes/)
})

t.test('a node\'s figures: per-process images/s summed, wall = slowest reader', async (t) => {
  const f = nodeFigures([
    { items: 100, bytes: 1e7, seconds: 2, errors: 0 },
    { items: 100, bytes: 1e7, seconds: 4, errors: 1, firstError: 'EIO' },
  ])
  t.same(f, { images: 200, bytes: 2e7, wallSeconds: 4, imagesPerSecond: 75, megabytesPerSecond: 5, errors: 1, firstError: 'EIO' })
  t.same(nodeFigures([]), { images: 0, bytes: 0, wallSeconds: 0, imagesPerSecond: 0, megabytesPerSecond: 0, errors: 0 })
})

t.test('scenarios, tier prefixes, node mounts and Redis', async (t) => {
  t.same([...NODES_SCENARIOS], ['sequential', 'sequential-tier', 'concurrent-tier', 'concurrent-redis'])
  t.same(SCENARIO_SPECS['concurrent-redis'], { concurrent: true, tier: true, coordinator: true })
  t.same(SCENARIO_SPECS.sequential, { concurrent: false, tier: false, coordinator: false })
  t.match(tierPrefix('sequential-tier'), /^n[0-9a-z]+\/sequential-tier\/$/)
  t.not(tierPrefix('concurrent-tier'), tierPrefix('concurrent-redis'), 'every scenario starts from an empty tier prefix')
  t.equal(TIER_BUCKET, 'bench-tier')
  t.same(nodeVariant({ node: 'A' }), { name: 's3cachefs-node-A', label: 's3cachefs node A', mountArgs: [] })
  t.same(nodeVariant({ node: 'B', sharedCache: 's3://bench-tier/x', coordinator: 'redis://127.0.0.1:7000' }), {
    name: 's3cachefs-node-B-tier-redis', label: 's3cachefs node B', mountArgs: ['--shared-cache', 's3://bench-tier/x', '--coordinator', 'redis://127.0.0.1:7000'],
  })
  t.same(redisArgs(7000, '/tmp/r'), ['--port', '7000', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp/r'])
})

t.test('a failed mount names the error, not the crash site', async (t) => {
  t.equal(firstErrorLine('/x/node_modules/node-gyp-build/node-gyp-build.js:60\n  throw new Error(\n  ^\n\nError: No native build was found for platform=linux\n    at load (/x.js:1)'), 'Error: No native build was found for platform=linux')
  t.equal(firstErrorLine('s3cachefs: --cache-size must be a size\n'), 's3cachefs: --cache-size must be a size')
  t.equal(firstErrorLine(''), 'no output')
})
