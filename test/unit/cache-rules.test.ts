/** Cache rules (pins, per-path TTLs): matching, replacement, persistence; and the load progress line. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { CacheRules, covers, matches, namespaceId } from '../../src/cache/cache-rules.js'
import { formatProgress, formatSeconds } from '../../src/cli/progress.js'
import { normalizePaths } from '../../src/ops/tree-walker.js'

const ns = namespaceId('s3://b/@aws')

t.test('a directory rule matches its prefix, a file rule its key, in its namespace only', async t => {
  const dir = { ns, key: 'train/', dir: true, path: '/train' }
  const file = { ns, key: 'train/a.jpg', dir: false, path: '/train/a.jpg' }
  t.ok(matches(dir, ns, 'train/x/y.jpg'))
  t.notOk(matches(dir, ns, 'trainer/x.jpg'))
  t.ok(matches(file, ns, 'train/a.jpg'))
  t.notOk(matches(file, ns, 'train/a.jpg.bak'))
  t.notOk(matches(dir, namespaceId('s3://other/@aws'), 'train/x.jpg'))
  t.ok(matches({ ns, key: '', dir: true, path: '/' }, ns, 'anything'))
  t.ok(covers(dir, file))
  t.notOk(covers(file, dir))
})

t.test('pins and TTLs persist, the most specific TTL wins, a covering pin replaces the ones below', async t => {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const rules = await CacheRules.load(dir)
  await rules.addPin({ ns, key: 'a/b/', dir: true, path: '/a/b', bytes: 10, files: 1 })
  await rules.addPin({ ns, key: 'a/', dir: true, path: '/a', bytes: 30, files: 3 })
  t.same(
    rules.pins.map(p => p.path),
    ['/a'],
  )
  await rules.setTtl({ ns, key: 'a/', dir: true, path: '/a', ttlMs: 1000 })
  await rules.setTtl({ ns, key: 'a/keep/', dir: true, path: '/a/keep', ttlMs: null })
  const again = await CacheRules.load(dir)
  t.ok(again.isPinned(ns, 'a/b/c'))
  t.equal(again.ttlFor(ns, 'a/x'), 1000)
  t.equal(again.ttlFor(ns, 'a/keep/x'), null, 'never, overriding the parent')
  t.equal(again.ttlFor(ns, 'z'), undefined)
  const removed = await again.removePins({ ns, key: '', dir: true, path: '/' })
  t.same(
    removed.map(p => p.path),
    ['/a'],
  )
  t.notOk((await CacheRules.load(dir)).isPinned(ns, 'a/b/c'))
})

t.test('paths are normalised and nested ones dropped', async t => {
  t.same(normalizePaths(['/a/b/', '/a', '/c/./d', '/c/d']), ['/a', '/c/d'])
  t.same(normalizePaths(['/x', '/']), ['/'])
})

t.test('progress line', async t => {
  t.equal(formatProgress({ files: 10, filesDone: 5, bytes: 200e6, bytesDone: 100e6, elapsedMs: 2000 }), '5/10 files, 95.4 MiB/190.7 MiB, 50.0 MB/s, ETA 2s')
  t.match(formatProgress({ files: 1, filesDone: 0, bytes: 1, bytesDone: 0, elapsedMs: 0 }), /ETA \?$/)
  t.equal(formatSeconds(185), '3m05s')
  t.equal(formatSeconds(3720), '1h02m')
})
