/**
 * Every FUSE request the daemon answers in JS holds one libfuse worker thread until it is
 * answered (a cold read waits for its GET there), and the binding gives each worker a state
 * with an event-loop handle (uv_async_t), which libuv walks on every wakeup of the loop.
 * Upstream leaked a state per worker thread ever started (after a long cold epoch the main
 * thread spent 92 % of its time in that walk); a retired worker's state now goes to an idle
 * list that the next new worker takes. The binding runs libfuse 3's loop with at most 256
 * workers (libfuse 3.14's default bound, 10, is too few for the reads that wait at once) and
 * retires workers beyond 10 idle, as libfuse 2.9 did. Proven by counting: bursts of 32
 * concurrent cold reads, each waiting 1 s in the daemon for its GET (a delaying proxy), each
 * burst on new files, start more than 10 workers; the later bursts' workers reuse retired
 * states; a burst of 80 is served at once, within what waits. The reads are O_DIRECT: the
 * kernel sends page-cache read-ahead as background requests, at most 12 at a time.
 */
import t from 'tap'
import { startFaultProxy } from '../../tools/local-s3/fault-proxy.js'
import { makeFixture } from './mount-fixture.js'
import { seededRandom } from '../helpers/seeded-random.js'

const CALLERS = 32
const BURSTS = 3
const LARGE_BURST = 80

interface Stats {
  fuse?: { threadStates: number; threadStatesReused: number }
}

t.test("FUSE workers: more than libfuse 3's default 10, retired states reused across bursts", async t => {
  const fx = await makeFixture(t)
  for (let b = 0; b <= BURSTS; b++) {
    const callers = b === BURSTS ? LARGE_BURST : CALLERS
    await Promise.all(Array.from({ length: callers }, (_, r) => fx.put(`b${b}/f${r}.bin`, Buffer.alloc(65536, b * CALLERS + r))))
  }
  const proxy = await startFaultProxy(fx.server.endpoint, seededRandom(3))
  t.teardown(() => proxy.stop())
  proxy.arm({ delayMs: 1000, match: 'GET', keyPrefix: 'b', count: 1_000_000 })
  await fx.mount(['--endpoint-url', proxy.endpoint, '--prefetch-after', 'off'])
  // Every name looked up first (lookups in one directory reach the daemon one at a time).
  t.equal((await fx.sh(`ls -l ${fx.mountPoint}/b*/ > /dev/null`)).code, 0)
  const stats = async (): Promise<Stats> => JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats

  const after: Array<{ threadStates: number; threadStatesReused: number }> = []
  for (let b = 0; b <= BURSTS; b++) {
    const callers = b === BURSTS ? LARGE_BURST : CALLERS
    const burst = await fx.sh(
      `cd ${fx.mountPoint}/b${b} && for r in $(seq 0 ${callers - 1}); do dd if=f$r.bin of=/dev/null bs=64k count=1 iflag=direct status=none & done; wait; sleep 0.5`,
    )
    t.equal(burst.code, 0, `burst ${b} (${callers} readers)`)
    const f = (await stats()).fuse
    if (f === undefined) return t.fail('stats --json has no fuse figures')
    after.push(f)
  }
  t.comment(`states after each burst: ${after.map(a => `${a.threadStates} (${a.threadStatesReused} reused)`).join(', ')}`)
  const first = after[0]?.threadStates ?? 0
  const beforeLarge = after[BURSTS - 1] ?? { threadStates: 0, threadStatesReused: 0 }
  const last = after[BURSTS]?.threadStates ?? 0
  // More workers than libfuse 3.14's default bound (10): the binding's bound is in force.
  t.ok(first >= 24, `the first burst started ${first} workers (more than libfuse's default 10)`)
  // Workers beyond 10 idle were retired, and the later bursts' new workers took their states.
  t.ok(
    beforeLarge.threadStatesReused >= beforeLarge.threadStates,
    `most workers started took a retired one's state: ${beforeLarge.threadStatesReused} reused, ${beforeLarge.threadStates} created`,
  )
  t.ok(beforeLarge.threadStates <= CALLERS + 16, `states created stay within the requests that can wait at once: ${beforeLarge.threadStates}`)
  // 80 readers at once are each given a worker (no bound below them), and no more states than that.
  t.ok(last > CALLERS + 16 && last <= LARGE_BURST + 16, `${LARGE_BURST} readers at once: ${last} states`)
})
