// Small pieces of the harness that decide correctness rather than speed: the
// cleanup stack (order, isolation of failures, abort), the even split of the
// file list over workers, seeded shuffles (same order for every system), and
// the s3cachefs memory cache size the report's disk-cache caveats compare with.
import t from 'tap'
import { Cleanup, InterruptedError } from '../../tools/bench/env/cleanup.js'
import { Prng } from '../../tools/bench/dataset/prng.js'
import { splitEvenly } from '../../tools/bench/workloads/loader.js'
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
