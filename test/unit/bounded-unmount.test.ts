import t from 'tap'
import { pino } from 'pino'
import { unmountBounded } from '../../src/daemon/bounded-unmount.js'

function recordingLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
  return { log, lines }
}

t.test('an unmount that never finishes is given up after the bound, with a warning', async t => {
  const { log, lines } = recordingLog()
  const t0 = Date.now()
  t.equal(await unmountBounded(() => new Promise<void>(() => {}), log, 200), 'gave up')
  t.ok(Date.now() - t0 >= 190, 'after the bound')
  t.match(lines.join(''), /the unmount did not finish in time/)
})

t.test('an unmount that finishes is waited for, silently', async t => {
  const { log, lines } = recordingLog()
  t.equal(await unmountBounded(() => new Promise<void>(r => setTimeout(r, 50)), log, 5000), 'unmounted')
  t.same(lines, [])
})

t.test('an unmount that fails in time fails the shutdown step; one that fails late is ignored', async t => {
  const { log } = recordingLog()
  await t.rejects(
    unmountBounded(() => Promise.reject(new Error('fusermount: entry not found')), log, 5000),
    /entry not found/,
  )
  const late = unmountBounded(() => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('late')), 300)), log, 50)
  t.equal(await late, 'gave up')
  await new Promise(r => setTimeout(r, 400)) // the late rejection must not surface as unhandled
})
