/**
 * libfuse 2.9 starts a worker thread whenever no worker is idle and retires workers once
 * more than 10 are idle, so every burst of concurrent requests starts and retires threads.
 * The binding gives each worker a state with an event-loop handle (uv_async_t); upstream
 * never freed it, and libuv walks every async handle on each wakeup of the loop: after a
 * long cold epoch the daemon's main thread spent 92 % of its time in that walk (perf,
 * 200,000 files). A retired worker's state now goes to an idle list that the next new
 * worker takes. Proven by counting: six bursts of 32 concurrent cold reads, each waiting
 * 400 ms in the daemon for its GET (a delaying proxy), each burst on new files: most
 * workers started reuse a state, and the states stay within what can wait at once. The
 * reads are O_DIRECT: the kernel sends page-cache read-ahead as background requests, at
 * most 12 at a time, and lookups in one directory one at a time.
 */
import t from 'tap'
import { startFaultProxy } from '../../tools/local-s3/fault-proxy.js'
import { makeFixture } from './mount-fixture.js'
import { seededRandom } from '../helpers/seeded-random.js'

const CALLERS = 32
const BURSTS = 6

interface Stats {
  fuse?: { threadStates: number; threadStatesReused: number }
}

t.test('FUSE worker thread states are reused across bursts, not created per thread ever started', async t => {
  const fx = await makeFixture(t)
  for (let b = 0; b < BURSTS; b++) {
    await Promise.all(Array.from({ length: CALLERS }, (_, r) => fx.put(`b${b}/f${r}.bin`, Buffer.alloc(65536, b * CALLERS + r))))
  }
  const proxy = await startFaultProxy(fx.server.endpoint, seededRandom(3))
  t.teardown(() => proxy.stop())
  proxy.arm({ delayMs: 400, match: 'GET', keyPrefix: 'b', count: 1_000_000 })
  await fx.mount(['--endpoint-url', proxy.endpoint, '--prefetch-after', 'off'])
  // Every name looked up first (lookups in one directory reach the daemon one at a time).
  t.equal((await fx.sh(`ls -l ${fx.mountPoint}/b*/ > /dev/null`)).code, 0)
  const stats = async (): Promise<Stats> => JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats

  const after: Array<{ threadStates: number; threadStatesReused: number }> = []
  for (let b = 0; b < BURSTS; b++) {
    const burst = await fx.sh(
      `cd ${fx.mountPoint}/b${b} && for r in $(seq 0 ${CALLERS - 1}); do dd if=f$r.bin of=/dev/null bs=64k count=1 iflag=direct status=none & done; wait; sleep 0.5`,
    )
    t.equal(burst.code, 0, `burst ${b}`)
    const f = (await stats()).fuse
    if (f === undefined) return t.fail('stats --json has no fuse figures')
    after.push(f)
  }
  const first = after[0]?.threadStates ?? 0
  const last = after[after.length - 1] ?? { threadStates: 0, threadStatesReused: 0 }
  t.comment(`states after each burst: ${after.map(a => `${a.threadStates} (${a.threadStatesReused} reused)`).join(', ')}`)
  // Precondition: the bursts did make libfuse start more workers than it keeps idle (10).
  t.ok(first >= 24, `the first burst started ${first} workers (more than the 10 libfuse keeps idle)`)
  // Each later burst starts about (its peak - 10) workers again: without reuse each one creates a state.
  t.ok(
    last.threadStatesReused >= last.threadStates,
    `most workers started took a retired one's state: ${last.threadStatesReused} reused, ${last.threadStates} created`,
  )
  t.ok(last.threadStates <= CALLERS + 16, `states created stay within the requests that can wait at once: ${last.threadStates}`)
})
