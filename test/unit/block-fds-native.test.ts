/**
 * The binding's cache of open block files (vendor/fuse-native/block-fds.h), in C: the
 * test program test/native/block-fds.test.c is built with `cc` (Debian's gcc, as the
 * binding's build) and run in a directory of its own; each of its TAP lines becomes an
 * assertion here. It drives the races the cache guards against by construction (a forget,
 * a reset or another reader between an open and its entry into the table), which a mount
 * can only hit by luck.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const ROOT = join(import.meta.dirname, '..', '..')

t.test('the cache of open block files, step by step in C', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'block-fds-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const exe = join(dir, 'block-fds-test')
  const cc = spawnSync(
    'cc',
    [
      '-std=c11',
      '-D_GNU_SOURCE',
      '-O1',
      '-Wall',
      '-Wextra',
      '-Werror',
      // The header's helpers are static: one only the binding calls must not fail this build.
      '-Wno-unused-function',
      '-I',
      join(ROOT, 'vendor/fuse-native'),
      join(ROOT, 'test/native/block-fds.test.c'),
      '-o',
      exe,
      '-lpthread',
    ],
    { encoding: 'utf8' },
  )
  t.equal(cc.status, 0, `compiles without warnings${cc.stderr ? `: ${cc.stderr}` : ''}`)
  if (cc.status !== 0) return
  const blocks = join(dir, 'blocks')
  mkdirSync(blocks)
  const run = spawnSync(exe, [blocks], { encoding: 'utf8', timeout: 30_000 })
  const lines = run.stdout.split('\n')
  for (const line of lines) {
    const m = /^(not )?ok \d+ - (.*)$/.exec(line)
    if (m) t.ok(m[1] === undefined, m[2] as string)
  }
  const plan = lines.find(l => /^1\.\.\d+$/.test(l))
  t.ok(plan !== undefined, `the program ran to its end (${plan ?? `status ${run.status}, signal ${run.signal}`})`)
  t.equal(run.status, 0, 'and exited 0')
})
