/**
 * Runs the Python package's own tests (python/tests, unittest, standard
 * library only): announce() streaming `s3cachefs prefetch --list -`,
 * AnnouncingSampler and announce_file_list, all against a fake `s3cachefs`
 * executable, so no mount, no torch and no build are needed.
 * python3 is part of Debian's base system on these machines.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'

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
    t.fail(missing
      ? 'python3 not found on PATH: the Python package tests need it (Debian: apt-get install python3)'
      : `could not run python3: ${run.error.message}`)
    return
  }
  const output = `${run.stdout}${run.stderr}` // unittest reports on stderr
  t.equal(run.status, 0, 'unittest exits 0', { output: output.slice(-4000) })
  t.match(output, /\nOK\b/, 'unittest reports OK')
  const ran = /^Ran (\d+) tests? in /m.exec(output)
  t.ok(ran, 'unittest reports how many tests ran')
  t.ok(Number(ran?.[1]) >= MIN_TESTS, `at least ${MIN_TESTS} tests ran (ran ${ran?.[1]})`)
})
