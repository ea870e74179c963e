/**
 * libfuse 2.9 starts a worker thread whenever no worker is idle and retires workers once
 * more than 10 are idle, so every burst of concurrent requests starts and retires threads.
 * The binding gives each worker a state with an event-loop handle (uv_async_t); upstream
 * never freed it, and libuv walks every async handle on each wakeup of the loop: after a
 * long cold epoch the daemon's main thread spent 92 % of its time in that walk (perf,
 * 200,000 files). A retired worker's state now goes to an idle list that the next new
 * worker takes. Proven by counting: six bursts of 32 concurrent cold reads, each burst with
 * new files: most workers started reuse a state, and the states stay within what can wait at once.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

const READERS = 32
const BURSTS = 6

interface Stats {
  fuse?: { threadStates: number; threadStatesReused: number }
}

t.test('FUSE worker thread states are reused across bursts, not created per thread ever started', async t => {
  const fx = await makeFixture(t)
  const contents = new Map<string, Buffer>()
  for (let b = 0; b < BURSTS; b++) {
    for (let r = 0; r < READERS; r++) {
      const body = randomBytes(128 * 1024 + r)
      contents.set(`b${b}/f${r}.bin`, body)
      await fx.put(`b${b}/f${r}.bin`, body)
    }
  }
  await fx.mount()
  const stats = async (): Promise<Stats> => JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats

  const after: Array<{ threadStates: number; threadStatesReused: number }> = []
  for (let b = 0; b < BURSTS; b++) {
    // Cold files read at once: each read waits for its GET on a FUSE thread of its own.
    const burst = await fx.sh(`cd ${fx.mountPoint}/b${b} && for r in $(seq 0 ${READERS - 1}); do md5sum f$r.bin > /dev/null & done; wait; sleep 0.5`)
    t.equal(burst.code, 0, `burst ${b}`)
    const f = (await stats()).fuse
    if (f === undefined) return t.fail('stats --json has no fuse figures')
    after.push(f)
  }
  // The reads themselves: byte-exact (checked once, after all bursts).
  const listed = await fx.sh(`cd ${fx.mountPoint} && md5sum b*/f*.bin`)
  const wrong = listed.stdout
    .trim()
    .split('\n')
    .filter(line => {
      const [sum, name] = line.split(/\s+/)
      return (
        createHash('md5')
          .update(contents.get(name ?? '') ?? Buffer.alloc(0))
          .digest('hex') !== sum
      )
    })
  t.same(wrong, [], 'every file read back exactly')

  const first = after[0]?.threadStates ?? 0
  const last = after[after.length - 1] ?? { threadStates: 0, threadStatesReused: 0 }
  t.comment(`states after each burst: ${after.map(a => `${a.threadStates} (${a.threadStatesReused} reused)`).join(', ')}`)
  // Precondition: the bursts did make libfuse start more workers than it keeps idle (10).
  t.ok(first >= 14, `the first burst started ${first} workers (more than the 10 libfuse keeps idle)`)
  // Each later burst starts about (its peak - 10) workers again: without reuse each one creates a state.
  t.ok(
    last.threadStatesReused >= last.threadStates,
    `most workers started took a retired one's state: ${last.threadStatesReused} reused, ${last.threadStates} created`,
  )
  t.ok(last.threadStates <= READERS + 16, `states created stay within the requests that can wait at once: ${last.threadStates}`)
})
