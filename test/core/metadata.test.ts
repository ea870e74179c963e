import t from 'tap'
import { NotADirectoryError, NotFoundError, RemoteServerError } from '../../src/errors.js'
import { makeHarness } from './harness.js'

t.test('readdir pages through LIST and fills the stat cache: no HEAD per entry', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  for (let i = 0; i < 2500; i++) h.store.put(`dir/f${String(i).padStart(5, '0')}.jpg`, `x${i}`)
  t.same(await h.core.readdir('/'), ['dir'], 'the kernel looks the directory up from its parent first')
  const names = await h.core.readdir('/dir')
  t.equal(names.length, 2500)
  const listsAfterReaddir = h.counts().list
  t.ok(listsAfterReaddir >= 3, 'several LIST pages')
  for (const n of names) await h.core.getattr(`/dir/${n}`)
  t.same(h.counts().head, 0, 'no HEAD for any entry')
  t.equal(h.counts().list, listsAfterReaddir, 'no further LIST')
  await t.rejects(h.core.getattr('/dir/absent.jpg'), NotFoundError, 'absent child answered from the listing')
  t.same(h.counts().head, 0)
})

t.test('implicit directories, markers, and a name that is both file and prefix', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('train/c1/a.jpg', 'a')
  h.store.put('train/c2/b.jpg', 'b')
  h.store.put('empty/', '')
  h.store.put('both', 'file bytes')
  h.store.put('both/inner', 'x')
  h.store.put('top.txt', 'top')
  h.store.put('odd//double', 'x')
  h.store.put('odd/' + 'n'.repeat(256), 'x')
  h.store.put('odd/fine', 'x')
  t.same(await h.core.readdir('/'), ['both', 'empty', 'odd', 'top.txt', 'train'])
  t.same(await h.core.readdir('/odd'), ['fine'], 'empty segments and over-long names are not shown')
  t.same(await h.core.readdir('/train'), ['c1', 'c2'])
  t.same(await h.core.readdir('/empty'), [], 'a dir/ marker is an empty directory')
  t.equal((await h.core.getattr('/both')).mode & 0o170000, 0o040000, 'directory wins over file')
  t.equal((await h.core.getattr('/top.txt')).size, 3)
  await t.rejects(h.core.readdir('/top.txt'), NotADirectoryError)
})

t.test('path-first: a cold lookup lists its directory once (no HEAD), shared by concurrent callers and siblings', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('a/b.bin', '12345')
  for (let i = 0; i < 300; i++) h.store.put(`a/sib-${i}.jpg`, 'x')
  const stats = await Promise.all(Array.from({ length: 10 }, () => h.core.getattr('/a/b.bin')))
  t.equal(stats[0]?.size, 5)
  t.same(h.counts(), { get: 0, head: 0, list: 1 })
  for (let i = 0; i < 300; i++) await h.core.getattr(`/a/sib-${i}.jpg`)
  await t.rejects(h.core.getattr('/a/absent.jpg'), NotFoundError)
  t.same(h.counts(), { get: 0, head: 0, list: 1 }, '300 siblings and an absent name answered from that listing')
  const dir = await h.core.getattr('/a')
  t.equal(dir.mode & 0o170000, 0o040000)
})

t.test('negative entries expire after the negative TTL; positive after the TTL', async t => {
  const h = await makeHarness({ metadata: { ttlMs: 60_000, negativeTtlMs: 5_000 } })
  t.teardown(() => h.close())
  await t.rejects(h.core.getattr('/new.txt'), NotFoundError)
  h.store.put('new.txt', 'hello')
  await t.rejects(h.core.getattr('/new.txt'), NotFoundError, 'still negative within the TTL')
  h.clock.now += 5_000
  t.equal((await h.core.getattr('/new.txt')).size, 5, 'seen after the negative TTL')
  h.store.put('new.txt', 'hello, longer')
  t.equal((await h.core.getattr('/new.txt')).size, 5, 'cached within the TTL')
  h.clock.now += 60_000
  t.equal((await h.core.getattr('/new.txt')).size, 13, 'fresh after the TTL')
  h.store.delete('new.txt')
  h.clock.now += 60_000
  await t.rejects(h.core.getattr('/new.txt'), NotFoundError, 'deleted: ENOENT after the TTL')
})

t.test('path-first: a directory too large to list for one lookup falls back to HEAD + LIST per name', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  for (let i = 0; i < 10_050; i++) h.store.put(`big/f${String(i).padStart(5, '0')}`, 'x')
  t.equal((await h.core.getattr('/big/f10049')).size, 1)
  const after = h.counts()
  t.ok(after.list <= 12, `gave up after 10 pages (${after.list} LISTs)`)
  t.equal((await h.core.getattr('/big/f00007')).size, 1, 'answered from the pages seen')
  await h.core.getattr('/big/f10048')
  t.equal(h.counts().head - after.head, 1, 'later lookups: one HEAD each')
})

t.test('store errors on lookup propagate and are not cached as absent', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('x', 'y')
  h.faults.inject({ op: 'head', remaining: 1, error: () => new RemoteServerError('boom') })
  h.faults.inject({ op: 'list', remaining: 1, error: () => new RemoteServerError('boom') })
  await t.rejects(h.core.getattr('/x'), RemoteServerError)
  t.equal((await h.core.getattr('/x')).size, 1)
})

t.test('after the TTL, lookups in a directory listed before re-list it: no HEAD per file', async t => {
  const h = await makeHarness({ metadata: { ttlMs: 60_000 } })
  t.teardown(() => h.close())
  for (let i = 0; i < 50; i++) h.store.put(`train/c1/img${i}.jpg`, `x${i}`)
  await h.core.readdir('/')
  await h.core.readdir('/train')
  await h.core.readdir('/train/c1')
  h.clock.now += 61_000 // an epoch longer than the TTL
  const before = h.counts()
  for (let i = 0; i < 50; i++) t.equal((await h.core.getattr(`/train/c1/img${i}.jpg`)).size, `x${i}`.length)
  await t.rejects(h.core.getattr('/train/c1/absent.jpg'), NotFoundError)
  const after = h.counts()
  t.equal(after.head - before.head, 0, 'no HEAD')
  t.ok(after.list - before.list <= 3, `a few LISTs, not one per file (${after.list - before.list})`)
})

t.test('listing a directory lists its subdirectories in the background', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  for (let c = 0; c < 10; c++) h.store.put(`classes/c${c}/a.jpg`, 'a')
  await h.core.readdir('/')
  await h.core.readdir('/classes')
  await new Promise(r => setTimeout(r, 50))
  const lists = h.counts().list
  for (let c = 0; c < 10; c++) t.same(await h.core.readdir(`/classes/c${c}`), ['a.jpg'])
  t.equal(h.counts().list, lists, 'every subdirectory listing was already there')
})

t.test('background listings of subdirectories stop after their first page', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  for (let i = 0; i < 3500; i++) h.store.put(`big/huge/f${String(i).padStart(5, '0')}`, 'x')
  for (let c = 0; c < 3; c++) h.store.put(`big/small${c}/a`, 'a')
  const before = h.counts().list
  await h.core.readdir('/big')
  await new Promise(r => setTimeout(r, 100))
  // The lookup of /big lists the root (path-first), readdir lists /big, then one page per subdirectory.
  t.equal(h.counts().list - before, 2 + 4, 'one page per subdirectory in the background (not 4 pages of huge/)')
  const lists = h.counts().list
  t.equal((await h.core.getattr('/big/huge/f00010')).size, 1, 'entries of the first page answer lookups')
  t.same(await h.core.readdir('/big/small1'), ['a'], 'a one-page subdirectory is listed in full')
  t.equal(h.counts().list, lists)
  t.equal((await h.core.readdir('/big/huge')).length, 3500, 'a readdir of the large one still lists it all')
})
