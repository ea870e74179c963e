/**
 * Runs the Python package's own tests (python/tests, unittest, standard
 * library only): announce() streaming `s3cachefs prefetch --list -`,
 * AnnouncingSampler and announce_file_list, all against a fake `s3cachefs`
 * executable, so no mount, no torch and no build are needed. Then one real
 * mount (the built CLI): announce() reaches the daemon over its control socket.
 * python3 is part of Debian's base system on these machines.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { makeFixture } from './mount/mount-fixture.js'

const REPO_ROOT = resolve(import.meta.dirname, '..')
// The suite takes ~5 s (one test waits out a 0.5 s timeout); a bound far above it.
const UNITTEST_TIMEOUT_MS = 120_000
// The suite has 33 tests; fewer than this means discovery silently lost most of them.
const MIN_TESTS = 6

t.test('python/tests pass under unittest', async t => {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } // no __pycache__ in the tree
  delete env.S3CACHEFS_BIN // the tests point it at their fake themselves
  const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python', '-v'], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: UNITTEST_TIMEOUT_MS,
  })
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT'
    t.fail(
      missing ? 'python3 not found on PATH: the Python package tests need it (Debian: apt-get install python3)' : `could not run python3: ${run.error.message}`,
    )
    return
  }
  const output = `${run.stdout}${run.stderr}` // unittest reports on stderr
  t.equal(run.status, 0, 'unittest exits 0', { output: output.slice(-4000) })
  t.match(output, /\nOK\b/, 'unittest reports OK')
  const ran = /^Ran (\d+) tests? in /m.exec(output)
  t.ok(ran, 'unittest reports how many tests ran')
  t.ok(Number(ran?.[1]) >= MIN_TESTS, `at least ${MIN_TESTS} tests ran (ran ${ran?.[1]})`)
})

// A real mount: announce() of 2,000 paths reaches the daemon over its control
// socket. S3CACHEFS_BIN names a command that always fails, so the list can only
// have gone through the socket; the daemon's stats show it holds the order.
t.test("announce() posts to a real mount's control socket, not through the CLI", async t => {
  const fx = await makeFixture(t)
  const keys = Array.from({ length: 200 }, (_, i) => `train/c${i % 4}/img${i}.JPEG`)
  for (const k of keys) await fx.put(k, Buffer.alloc(2048, k))
  await fx.mount()
  const order = Array.from({ length: 2000 }, (_, i) => join(fx.mountPoint, keys[(i * 7) % keys.length] as string))
  await writeFile(join(fx.root, 'order.json'), JSON.stringify(order))
  const script = [
    'import json, sys, time',
    `sys.path.insert(0, ${JSON.stringify(join(REPO_ROOT, 'python'))})`,
    'from s3cachefs import announce',
    `paths = json.load(open(${JSON.stringify(join(fx.root, 'order.json'))}))`,
    't0 = time.monotonic()',
    'announce(paths, window_files=16)',
    'print(f"{(time.monotonic() - t0) * 1000:.1f}")',
  ].join('\n')
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', S3CACHEFS_BIN: '/bin/false' }
  const run = spawnSync('python3', ['-c', script], { env, encoding: 'utf8', timeout: UNITTEST_TIMEOUT_MS })
  t.equal(run.status, 0, `announce() succeeded: ${run.stderr.slice(-2000)}`)
  t.comment(`2,000 paths announced over the socket in ${run.stdout.trim()} ms (Python's own clock; not asserted)`)
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { prefetch: { announced: { files: number; sessions: number } } }
  t.equal(stats.prefetch.announced.files, 2000, 'the daemon holds all 2,000 announced paths')
  t.equal(stats.prefetch.announced.sessions, 1, 'as one announcing process')
})
