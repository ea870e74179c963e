import t from 'tap'
import { daemonNodeFlags } from '../../src/cli/mount-command.js'
import { DAEMON_V8_FLAGS } from '../../src/config/defaults.js'

t.test('the daemon starts with the V8 heap flags, after the user node flags', async t => {
  t.same(daemonNodeFlags([]), DAEMON_V8_FLAGS)
  t.same(daemonNodeFlags(['--enable-source-maps']), ['--enable-source-maps', ...DAEMON_V8_FLAGS])
})

t.test('a flag the user sets, on the command line or in NODE_OPTIONS, in either spelling, is left to the user', async t => {
  t.same(daemonNodeFlags(['--initial-old-space-size=512']), ['--initial-old-space-size=512', '--heap-growing-percent=50'])
  t.same(daemonNodeFlags(['--initial_old_space_size=64']), ['--initial_old_space_size=64', '--heap-growing-percent=50'])
  t.same(daemonNodeFlags([], '--max-old-space-size=900 --initial-old-space-size=32'), ['--heap-growing-percent=50'])
  t.same(daemonNodeFlags(['--heap_growing_percent=20'], '--initial-old-space-size=32'), ['--heap_growing_percent=20'])
  t.same(daemonNodeFlags([], '--max-old-space-size=900'), DAEMON_V8_FLAGS)
})
