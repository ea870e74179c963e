import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import t from 'tap'
import { AlreadyExistsError, DirectoryNotEmptyError, HardLinkError, NotFoundError, RemoteServerError } from '../../src/errors.js'
import { MiB, makeHarness, readAll } from './harness.js'

const WRONLY = constants.O_WRONLY
const TRUNC = constants.O_TRUNC

async function writeFile(core: Awaited<ReturnType<typeof makeHarness>>['core'], path: string, data: Buffer, create = true): Promise<void> {
  const fh = create ? await core.create(path) : await core.open(path, WRONLY | TRUNC)
  for (let off = 0; off < data.length; off += 128 * 1024) await core.write(fh, data.subarray(off, off + 128 * 1024), off)
  await core.flush(fh)
  await core.release(fh)
}

t.test('sync mode: close uploads; the file reads back without a GET', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(3 * MiB + 5)
  await writeFile(h.core, '/new.bin', data)
  t.ok(h.store.bytesOf('new.bin').equals(data))
  t.equal((await h.core.getattr('/new.bin')).size, data.length)
  t.same(await h.core.readdir('/'), ['new.bin'])
  await h.disk.drain()
  const gets = h.counts().get
  t.ok((await readAll(h.core, '/new.bin')).equals(data))
  t.equal(h.counts().get, gets, 'uploaded content was adopted by the block cache')
})

t.test('async mode: close returns first, reads see the bytes, flush uploads', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 1, delayMs: 300 })
  const data = randomBytes(100_000)
  await writeFile(h.core, '/a.bin', data)
  t.throws(() => h.store.bytesOf('a.bin'), 'not yet in the store')
  t.ok((await readAll(h.core, '/a.bin')).equals(data), 'read-your-writes')
  const report = await h.writes.flush('/')
  t.ok(h.store.bytesOf('a.bin').equals(data))
  t.ok(report.uploaded.length <= 1)
})

t.test('a failed upload fails close, keeps the data, and a later flush uploads it', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 1, error: () => new RemoteServerError('500') })
  const fh = await h.core.create('/f.txt')
  await h.core.write(fh, Buffer.from('keep me'), 0)
  await t.rejects(h.core.flush(fh), RemoteServerError)
  await h.core.release(fh)
  t.ok((await readAll(h.core, '/f.txt')).equals(Buffer.from('keep me')), 'still readable')
  t.equal(h.writes.stats().pending, 1)
  const report = await h.writes.flush('/')
  t.same(
    report.uploaded.map(u => u.path),
    ['/f.txt'],
  )
  t.equal(h.store.bytesOf('f.txt').toString(), 'keep me')
  t.equal(h.writes.stats().pending, 0)
})

t.test('closed but unuploaded files survive a crash: the next daemon uploads them', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 10, error: () => new RemoteServerError('down') })
  await writeFile(h.core, '/crash.txt', Buffer.from('survives'))
  await new Promise(r => setTimeout(r, 50))
  h.faults.clear()
  const h2 = await h.remount() // recovers from the same cache directory's staging journal
  await h2.writes.flush('/')
  t.equal(h.store.bytesOf('crash.txt').toString(), 'survives')
})

t.test('open for write without O_TRUNC keeps the existing bytes; truncate both ways', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('e.txt', 'hello world')
  const fh = await h.core.open('/e.txt', WRONLY)
  await h.core.write(fh, Buffer.from('HELLO'), 0)
  await h.core.flush(fh)
  await h.core.release(fh)
  t.equal(h.store.bytesOf('e.txt').toString(), 'HELLO world')
  const fh2 = await h.core.open('/e.txt', WRONLY)
  await h.core.ftruncate(fh2, 5)
  await h.core.flush(fh2)
  await h.core.release(fh2)
  t.equal(h.store.bytesOf('e.txt').toString(), 'HELLO')
  const fh3 = await h.core.open('/e.txt', WRONLY)
  await h.core.ftruncate(fh3, 8)
  await h.core.flush(fh3)
  await h.core.release(fh3)
  t.same(h.store.bytesOf('e.txt'), Buffer.from('HELLO\0\0\0'))
})

t.test('mkdir, rmdir, unlink, rename', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await h.core.mkdir('/d')
  t.same(h.store.keys(), ['d/'])
  await t.rejects(h.core.mkdir('/d'), AlreadyExistsError)
  await writeFile(h.core, '/d/x', Buffer.from('x'))
  await h.core.mkdir('/d/sub')
  await writeFile(h.core, '/d/sub/y', Buffer.from('y'))
  await t.rejects(h.core.rmdir('/d'), DirectoryNotEmptyError)
  await h.core.rename('/d', '/e')
  t.same(h.store.keys(), ['e/', 'e/sub/', 'e/sub/y', 'e/x'])
  t.same(await h.core.readdir('/e'), ['sub', 'x'])
  await h.core.rename('/e/x', '/e/z')
  t.same(await h.core.readdir('/e'), ['sub', 'z'])
  await h.core.unlink('/e/z')
  await h.core.unlink('/e/sub/y')
  await h.core.rmdir('/e/sub')
  t.same(h.store.keys(), ['e/'])
  await t.rejects(h.core.refuseLink('/e/l'), HardLinkError)
})

t.test('a directory made through the mount is listed at its first readdir: objects another client put there show at once', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await h.core.mkdir('/made')
  await writeFile(h.core, '/made/mine', Buffer.from('m'))
  const listsBefore = h.counts().list
  await t.rejects(h.core.getattr('/made/new-name'), NotFoundError, 'a new name in it still costs no request')
  t.equal(h.counts().list, listsBefore)
  h.store.put('made/theirs', 'out of band')
  t.same((await h.core.readdir('/made')).sort(), ['mine', 'theirs'], 'listed from the store, with what the mount wrote')
  t.equal(h.counts().list, listsBefore + 1, 'one LIST')
  t.same((await h.core.readdir('/made')).sort(), ['mine', 'theirs'])
  t.equal(h.counts().list, listsBefore + 1, 'then the listing is trusted for its TTL')
})

t.test('rmdir refused because the store holds objects the cached listing lacks: the next readdir lists them', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('d/', '')
  t.same(await h.core.readdir('/d'), [])
  h.store.put('d/theirs', 'out of band')
  t.same(await h.core.readdir('/d'), [], 'within the TTL the listing is trusted')
  await t.rejects(h.core.rmdir('/d'), DirectoryNotEmptyError)
  t.same(await h.core.readdir('/d'), ['theirs'], 'rm -r sees what kept the directory')
})

t.test('renaming a staged, unuploaded file uploads it under the new name only', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 1, delayMs: 200 })
  const fh = await h.core.create('/tmp.part')
  await h.core.write(fh, Buffer.from('content'), 0)
  await h.core.rename('/tmp.part', '/final')
  await h.core.flush(fh)
  await h.core.release(fh)
  await h.writes.flush('/')
  t.same(h.store.keys(), ['final'])
  t.equal(h.store.bytesOf('final').toString(), 'content')
})

t.test('unlink of an open, staged file: never uploaded', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const fh = await h.core.create('/gone')
  await h.core.write(fh, Buffer.from('bye'), 0)
  await h.core.unlink('/gone')
  await h.core.flush(fh)
  await h.core.release(fh)
  t.same(h.store.keys(), [])
})
