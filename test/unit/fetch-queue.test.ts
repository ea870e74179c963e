/**
 * FetchQueue priorities: a fetch queued at prefetch priority that a foreground
 * reader joins is raised, so it runs before foreground reads queued after the
 * join instead of after all of them; a started task is never touched.
 */
import t from 'tap'
import { FetchQueue, FetchTicket, PRIORITY_FOREGROUND, PRIORITY_LOAD, PRIORITY_PREFETCH } from '../../src/cache/fetch-queue.js'

/** Tasks that start (their names in `started`) and run until `finish` lets them end, one by one, until `count` have started. */
function heldTasks() {
  const started: string[] = []
  const releases: Array<() => void> = []
  const task = (name: string) => () =>
    new Promise<void>(r => {
      started.push(name)
      releases.push(r)
    })
  const finish = async (count: number, runs: Array<Promise<void>>): Promise<void> => {
    while (started.length < count || releases.length > 0) {
      releases.shift()?.()
      await new Promise(r => setTimeout(r, 5))
    }
    await Promise.all(runs)
  }
  return { started, task, finish }
}

function queue(): FetchQueue {
  return new FetchQueue({ concurrency: 1, inFlightBudgetBytes: 1 << 30, maxQueuedPrefetch: 100 })
}

t.test('a joined prefetch moves ahead of later foreground reads', async t => {
  const q = queue()
  const order: string[] = []
  let release!: () => void
  const blocker = q.run(
    1,
    PRIORITY_FOREGROUND,
    () =>
      new Promise<void>(r => {
        release = r
      }),
  )
  await new Promise(r => setImmediate(r))
  const ticket = new FetchTicket(PRIORITY_PREFETCH)
  const runs = [
    q.run(
      1,
      ticket.priority,
      async () => {
        order.push('prefetch')
      },
      ticket,
    ),
  ]
  runs.push(
    q.run(1, PRIORITY_FOREGROUND, async () => {
      order.push('fg1')
    }),
  )
  q.raise(ticket, PRIORITY_FOREGROUND)
  t.equal(ticket.priority, PRIORITY_FOREGROUND)
  for (let i = 2; i <= 4; i++)
    runs.push(
      q.run(1, PRIORITY_FOREGROUND, async () => {
        order.push(`fg${i}`)
      }),
    )
  release()
  await Promise.all([blocker, ...runs])
  t.same(order, ['fg1', 'prefetch', 'fg2', 'fg3', 'fg4'])
})

t.test('raising never lowers, and a started task is left alone', async t => {
  const q = queue()
  const ticket = new FetchTicket(PRIORITY_LOAD)
  let release!: () => void
  const running = q.run(
    1,
    ticket.priority,
    () =>
      new Promise<void>(r => {
        release = r
      }),
    ticket,
  )
  await new Promise(r => setImmediate(r))
  t.equal(ticket.queued.size, 0, 'started: no longer queued')
  q.raise(ticket, PRIORITY_PREFETCH)
  t.equal(ticket.priority, PRIORITY_LOAD, 'not lowered')
  t.doesNotThrow(() => q.raise(ticket, PRIORITY_FOREGROUND))
  release()
  await running
})

t.test('read-ahead and loads never take the reserve: a foreground fetch starts while they fill the rest of the budget', async t => {
  const q = new FetchQueue({ concurrency: 8, inFlightBudgetBytes: 10, foregroundReserveBytes: 4, maxQueuedPrefetch: 100 })
  const { started, task, finish } = heldTasks()
  const runs = [q.run(3, PRIORITY_PREFETCH, task('p1')), q.run(3, PRIORITY_LOAD, task('l1')), q.run(3, PRIORITY_PREFETCH, task('p2'))]
  await new Promise(r => setTimeout(r, 10))
  t.same(started, ['p1', 'l1'], 'background fetches stop at the budget less the reserve (6 of 10)')
  runs.push(q.run(3, PRIORITY_FOREGROUND, task('fg')))
  await new Promise(r => setTimeout(r, 10))
  t.same(started, ['p1', 'l1', 'fg'], 'the foreground fetch takes the reserve at once')
  const ticket = new FetchTicket(PRIORITY_PREFETCH)
  runs.push(q.run(1, ticket.priority, task('raised'), ticket))
  await new Promise(r => setTimeout(r, 10))
  t.same(started, ['p1', 'l1', 'fg'], 'a background fetch waits (9 of 10 in flight)')
  q.raise(ticket, PRIORITY_FOREGROUND)
  await new Promise(r => setTimeout(r, 10))
  t.ok(started.includes('raised'), 'raised while waiting, it takes the reserve at once (nothing ended meanwhile)')
  await finish(5, runs)
  t.same(started.sort(), ['fg', 'l1', 'p1', 'p2', 'raised'])
})

t.test('fetches waiting for budget hold no slot: a foreground fetch starts while read-ahead parts wait, with few slots', async t => {
  // Four slots (`--max-concurrency 4`); read-ahead may fill 6 of the 10 bytes of budget.
  const q = new FetchQueue({ concurrency: 4, inFlightBudgetBytes: 10, foregroundReserveBytes: 4, maxQueuedPrefetch: 100 })
  const { started, task, finish } = heldTasks()
  const runs = ['p1', 'p2', 'p3', 'p4', 'p5'].map(name => q.run(3, PRIORITY_PREFETCH, task(name)))
  await new Promise(r => setTimeout(r, 10))
  t.same(started, ['p1', 'p2'], 'two parts fill the read-ahead budget; three wait for it')
  t.equal(q.queued, 3, 'the waiting ones count as queued (prefetch admission, stats)')
  runs.push(q.run(3, PRIORITY_FOREGROUND, task('fg')))
  await new Promise(r => setTimeout(r, 10))
  t.same(started, ['p1', 'p2', 'fg'], 'the foreground fetch takes a free slot and the reserve at once')
  await finish(6, runs)
  t.equal(started.length, 6, 'every fetch ran')
})
