// Small pieces of the harness that decide correctness rather than speed: the
// cleanup stack (order, isolation of failures, abort), the even split of the
// file list over workers, seeded shuffles (same order for every system), and
// the s3cachefs memory cache size the report's disk-cache caveats compare with,
// the median of a shard run's passes, and where the caches of closed mounts go.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { discardLater } from '../../tools/bench/util/discard-later.js'
import { Cleanup, InterruptedError } from '../../tools/bench/env/cleanup.js'
import { Prng } from '../../tools/bench/dataset/prng.js'
import { splitEvenly } from '../../tools/bench/workloads/loader.js'
import { medianPass, WARM_PASSES } from '../../tools/bench/workloads/shard.js'
import type { ShardRun } from '../../tools/bench/results.js'
import { memoryCacheBytes } from '../../tools/bench/systems/s3cachefs-system.js'
import { MEMORY_CACHE_SIZE } from '../../src/config/defaults.js'
import { parseBytes } from '../../src/config/units.js'

t.test('cleanup runs newest first, survives a failing action, runs each once', async (t) => {
  const c = new Cleanup()
  const order: string[] = []
  c.add('server', () => { order.push('server') })
  const releaseMount = c.add('mount', () => { order.push('mount') })
  c.add('broken', () => { throw new Error('boom') })
  c.add('workers', async () => { order.push('workers') })
  await releaseMount()
  await releaseMount()
  const stderr = process.stderr.write
  process.stderr.write = (() => true) as typeof process.stderr.write
  try {
    await c.runAll()
    await c.runAll()
  } finally {
    process.stderr.write = stderr
  }
  t.same(order, ['mount', 'workers', 'server'])
  t.equal(c.aborted, false)
  t.doesNotThrow(() => c.throwIfAborted())
  t.ok(new InterruptedError() instanceof Error)
})

t.test('even split over workers', async (t) => {
  const items = Array.from({ length: 10 }, (_, i) => i)
  const parts = splitEvenly(items, 3)
  t.same(parts.map((p) => p.length), [3, 3, 4])
  t.same(parts.flat(), items, 'nothing lost, nothing repeated')
  t.same(splitEvenly([1], 4).flat(), [1])
})

t.test('seeded shuffles are reproducible and differ per epoch', async (t) => {
  const items = Array.from({ length: 100 }, (_, i) => i)
  const a = new Prng('1:epoch:1').shuffle([...items])
  t.same(new Prng('1:epoch:1').shuffle([...items]), a)
  t.notSame(new Prng('1:epoch:2').shuffle([...items]), a)
  t.same([...a].sort((x, y) => x - y), items)
})

t.test("s3cachefs's memory cache: the product default, or the last --memory-cache-size passed", async (t) => {
  t.equal(memoryCacheBytes([]), parseBytes(MEMORY_CACHE_SIZE, 'default'))
  t.equal(memoryCacheBytes(['--metadata-ttl', '10m', '--memory-cache-size', '8MiB']), 8 * 1048576)
  t.equal(memoryCacheBytes(['--memory-cache-size=1GiB', '--memory-cache-size', '64MiB']), 64 * 1048576)
  t.equal(memoryCacheBytes(['--memory-cache-size', 'lots']), undefined)
})

t.test("a warm shard run is its median pass, each pass's MB/s kept; a pass with errors is never hidden", async (t) => {
  const pass = (rate: number, errors = 0): ShardRun => ({
    name: 'warm-rand', readers: 1, pattern: 'random', readBytes: 262_144, bytes: 26_738_688, seconds: 26.738688 / rate, megabytesPerSecond: rate, errors,
    cost: {
      requests: { GET: 0, GET_RANGE: 0, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 }, bytesDown: 0, bytesUp: 0, httpErrors: 0, harnessCpuSeconds: rate / 1000,
      daemon: { cpuSeconds: rate / 10_000, peakRssBytes: rate * 1000, hwmBytes: rate * 2000 },
    },
  })
  const queue = (rates: number[], errorsAt = -1) => {
    let i = 0
    return async () => { const k = i++; return pass(rates[k] as number, k === errorsAt ? 1 : 0) }
  }
  t.equal(WARM_PASSES, 3)
  const r = await medianPass(3, queue([520, 410, 600]))
  t.equal(r.megabytesPerSecond, 520, 'the median, not the best nor the first')
  t.equal(r.cost.harnessCpuSeconds, 0.52, "the median pass's own cost")
  t.same(r.passes, [520, 410, 600], 'every pass, in order')
  t.equal(r.cost.daemon?.cpuSeconds, 0.052, "the median pass's daemon CPU")
  t.equal(r.cost.daemon?.peakRssBytes, 600_000, "the daemon's peak RSS over every pass")
  t.equal(r.cost.daemon?.hwmBytes, 1_200_000, 'and its VmHWM')
  t.equal((await medianPass(4, queue([4, 1, 3, 2]))).megabytesPerSecond, 2, 'an even count: the lower middle')
  const failed = await medianPass(3, queue([500, 510, 520], 2))
  t.equal(failed.errors, 1, 'a pass with errors is the figure')
  t.equal(failed.megabytesPerSecond, 520)
  t.equal((await medianPass(1, queue([77]))).megabytesPerSecond, 77)
})

t.test("a closed mount's cache is moved into the run's trash (no inode freed), or removed at once when the disk is short of space", async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'discard-'))
  t.teardown(() => rm(work, { recursive: true, force: true }))
  const cache = async (name: string): Promise<string> => {
    const dir = join(work, name)
    await mkdir(join(dir, 'blocks'), { recursive: true })
    await writeFile(join(dir, 'blocks', 'b0'), 'x')
    return dir
  }
  await discardLater(await cache('c1'), work)
  await discardLater(await cache('c2'), work)
  t.notOk(existsSync(join(work, 'c1')) || existsSync(join(work, 'c2')), 'gone from where they were')
  t.same((await readdir(join(work, 'trash'))).sort(), ['1', '2'], 'both in the trash, removed with the scratch directory at the end of the run')
  t.ok(existsSync(join(work, 'trash', '2', 'blocks', 'b0')), 'whole')
  await discardLater(await cache('c3'), work, Number.POSITIVE_INFINITY)
  t.notOk(existsSync(join(work, 'c3')), 'short of space: removed')
  t.equal((await readdir(join(work, 'trash'))).length, 2, 'not moved')
  await discardLater(join(work, 'never-made'), work)
  t.pass('a cache that is not there is nothing to discard')
})
