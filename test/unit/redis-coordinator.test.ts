/**
 * RedisCoordinator against Debian's redis-server on a free loopback port: lease
 * states (SET NX PX, done, dropped), texts with expiry, and the neutral answers
 * when Redis is unreachable at start, frozen (SIGSTOP: bounded by the command
 * deadline, then skipped for a while) or gone.
 */
import { spawn } from 'node:child_process'
import { pino } from 'pino'
import t from 'tap'
import { RedisCoordinator } from '../../src/coord/redis-coordinator.js'
import { freePort } from '../../src/util/free-port.js'

const log = pino({ level: 'silent' })

t.test('leases, texts, and working alone', async t => {
  const port = await freePort()
  const coordinator = new RedisCoordinator(
    { url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200, connectTimeoutMs: 500, reconnectDelayMs: 100, keyPrefix: 'test:' },
    log,
  )
  t.teardown(() => coordinator.close())
  t.equal(await coordinator.start(), false, 'nothing listens yet: start answers false, no throw')
  t.equal(await coordinator.claim('b0', 1000), 'alone')
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => {
    redis.kill('SIGKILL')
  })
  for (let i = 0; i < 100 && !coordinator.stats().connected; i++) await new Promise(r => setTimeout(r, 50))
  t.equal(coordinator.stats().connected, true, 'reconnects by itself')

  t.equal(await coordinator.claim('b1', 1000), 'claimed')
  t.equal(await coordinator.claim('b1', 1000), 'fetching', 'the second claimer waits')
  await coordinator.markDone('b1', 1000)
  t.equal(await coordinator.claim('b1', 1000), 'done')
  await coordinator.drop('b1')
  t.equal(await coordinator.state('b1'), 'none')
  t.equal(await coordinator.claim('b2', 100), 'claimed')
  await new Promise(r => setTimeout(r, 150))
  t.equal(await coordinator.claim('b2', 100), 'claimed', 'an expired lease can be taken again')
  await coordinator.setText('m', 'listing', 100)
  t.equal(await coordinator.getText('m'), 'listing')
  await new Promise(r => setTimeout(r, 150))
  t.equal(await coordinator.getText('m'), undefined, 'texts expire')

  redis.kill('SIGSTOP')
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now()
    t.equal(await coordinator.claim(`s${i}`, 1000), 'alone', 'a frozen Redis: work alone')
    times.push(Date.now() - t0)
  }
  t.ok(
    times.slice(0, 3).every(ms => ms < 600),
    `bounded by the deadline (${times.join(', ')} ms)`,
  )
  t.ok(
    times.slice(3).every(ms => ms < 50),
    'then skipped at once',
  )
  redis.kill('SIGKILL')
  t.equal(await coordinator.getText('m'), undefined, 'gone: neutral answers')
})
