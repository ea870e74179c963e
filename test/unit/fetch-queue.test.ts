/**
 * FetchQueue priorities: a fetch queued at prefetch priority that a foreground
 * reader joins is raised, so it runs before foreground reads queued after the
 * join instead of after all of them; a started task is never touched.
 */
import t from 'tap'
import { FetchQueue, FetchTicket, PRIORITY_FOREGROUND, PRIORITY_LOAD, PRIORITY_PREFETCH } from '../../src/cache/fetch-queue.js'

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
