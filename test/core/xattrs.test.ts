/**
 * Extended attributes through the filesystem core over the in-memory S3 twin, stored as
 * s3fs-fuse stores them (`x-amz-meta-xattr`): on a listed object (a copy onto itself that
 * keeps its bytes and other headers), on a file being written (carried by its upload), on
 * a directory marker and the root; the flags, the errors, the 2 KiB metadata limit, and
 * what each call costs.
 */
import { constants as fsc } from 'node:fs'
import t from 'tap'
import { AlreadyExistsError, InvalidArgumentError, MetadataTooLargeError, NoSuchAttributeError, RemoteServerError } from '../../src/errors.js'
import { XATTR_CREATE, XATTR_REPLACE, parseXattrs } from '../../src/metadata/s3fs-xattrs.js'
import { makeHarness } from './harness.js'

const S3FS_KEY_VALUE = '%7B%22key%22%3A%22dmFsdWU%3D%22%7D' // {"key":"value"}, as s3fs's suite writes it

function stored(meta: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries([...parseXattrs(meta?.xattr)].map(([k, v]) => [k, v.toString()]))
}

t.test('a listed object: set, get, list, replace, remove; bytes and other headers kept; mtime kept, ctime now', async t => {
  const h = await makeHarness({ metadata: { headForAttributes: true } })
  t.teardown(() => h.close())
  h.store.put('a.txt', 'data', new Date(), '', { foreign: 'keepme', mtime: '1500000000' })
  await h.core.readdir('/')
  const before = await h.core.getattr('/a.txt')
  await h.core.setxattr('/a.txt', 'user.k1', Buffer.from('v1'), 0)
  await h.core.setxattr('/a.txt', 'k2', Buffer.from('v2'), 0)
  t.same(stored((await h.store.head('a.txt')).metadata), { 'user.k1': 'v1', k2: 'v2' })
  t.equal((await h.store.head('a.txt')).metadata?.foreign, 'keepme', "another client's header survives")
  t.equal(h.store.bytesOf('a.txt').toString(), 'data')
  t.equal((await h.core.getxattr('/a.txt', 'user.k1')).toString(), 'v1')
  t.same((await h.core.listxattr('/a.txt')).sort(), ['k2', 'user.k1'])
  const after = await h.core.getattr('/a.txt')
  t.same([before.mtimeMs, after.mtimeMs], [1_500_000_000_000, 1_500_000_000_000], 'mtime unchanged')
  t.ok(after.ctimeMs > 1_600_000_000_000, 'ctime is now')

  await h.core.setxattr('/a.txt', 'user.k1', Buffer.from('v1b'), XATTR_REPLACE)
  await t.rejects(h.core.setxattr('/a.txt', 'user.k1', Buffer.from('x'), XATTR_CREATE), AlreadyExistsError)
  await t.rejects(h.core.setxattr('/a.txt', 'user.none', Buffer.from('x'), XATTR_REPLACE), NoSuchAttributeError)
  await h.core.removexattr('/a.txt', 'k2')
  await t.rejects(h.core.removexattr('/a.txt', 'k2'), NoSuchAttributeError)
  await t.rejects(h.core.getxattr('/a.txt', 'k2'), NoSuchAttributeError)
  t.same(stored((await h.store.head('a.txt')).metadata), { 'user.k1': 'v1b' })
  await h.core.removexattr('/a.txt', 'user.k1')
  t.equal((await h.store.head('a.txt')).metadata?.xattr, undefined, 'the last one removed: no header left')
  t.same(await h.core.listxattr('/a.txt'), [])
})

t.test("an object with no mtime header keeps its mtime: the header is written from the store's time", async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('plain.txt', 'data', new Date(1_400_000_000_000))
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/plain.txt')).mtimeMs, 1_400_000_000_000)
  await h.core.setxattr('/plain.txt', 'user.k', Buffer.from('v'), 0)
  t.equal((await h.store.head('plain.txt')).metadata?.mtime, '1400000000', 'the copy (a new LastModified) keeps the time shown')
  h.clock.now += 120_000
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/plain.txt')).mtimeMs, 1_400_000_000_000)
})

t.test("an object written elsewhere with s3fs's header: read once per version (one HEAD), removed through the mount", async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('ext.txt', 'x', new Date(), '', { xattr: S3FS_KEY_VALUE })
  await h.core.readdir('/')
  const heads = h.counts().head
  t.equal((await h.core.getxattr('/ext.txt', 'key')).toString(), 'value')
  t.same(await h.core.listxattr('/ext.txt'), ['key'])
  t.equal(h.counts().head - heads, 1, 'one HEAD for both calls')
  await h.core.removexattr('/ext.txt', 'key')
  await t.rejects(h.core.getxattr('/ext.txt', 'key'), NoSuchAttributeError)
  t.equal((await h.store.head('ext.txt')).metadata?.xattr, undefined)
})

t.test('a file being written keeps its attributes with it: the upload carries them, with no copy of its own', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const fh = await h.core.create('/new.bin', 0o644)
  await h.core.write(fh, Buffer.from('hello'), 0)
  await h.core.setxattr('/new.bin', 'user.tag', Buffer.from('ckpt'), 0)
  t.equal((await h.core.getxattr('/new.bin', 'user.tag')).toString(), 'ckpt', 'read back while open, before any upload')
  await h.core.flush(fh)
  await h.core.release(fh)
  const meta = (await h.store.head('new.bin')).metadata
  t.same(stored(meta), { 'user.tag': 'ckpt' })
  t.equal(h.store.bytesOf('new.bin').toString(), 'hello')

  // Opened again for writing: the staged copy starts from the object's headers, attributes included.
  const again = await h.core.open('/new.bin', fsc.O_WRONLY | fsc.O_APPEND)
  await h.core.write(again, Buffer.from('!'), 5)
  await h.core.setxattr('/new.bin', 'user.more', Buffer.from('2'), 0)
  await h.core.flush(again)
  await h.core.release(again)
  t.same(stored((await h.store.head('new.bin')).metadata), { 'user.tag': 'ckpt', 'user.more': '2' })
  t.equal(h.store.bytesOf('new.bin').toString(), 'hello!')
})

t.test('directories: a marker is copied (or made) with the header; the root keeps them in memory', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('implicit/x.txt', 'x')
  await h.core.mkdir('/d', 0o755)
  await h.core.setxattr('/d', 'user.dir', Buffer.from('yes'), 0)
  t.same(stored((await h.store.head('d/')).metadata), { 'user.dir': 'yes' })
  t.equal((await h.store.head('d/')).metadata?.mode, String(0o040755), 'the mode stays')
  t.equal((await h.core.getxattr('/d', 'user.dir')).toString(), 'yes')
  await h.core.setxattr('/implicit', 'user.i', Buffer.from('1'), 0)
  t.same(stored((await h.store.head('implicit/')).metadata), { 'user.i': '1' }, 'a directory with no marker gets one')
  await h.core.setxattr('/', 'user.root', Buffer.from('r'), 0)
  t.equal((await h.core.getxattr('/', 'user.root')).toString(), 'r')
})

t.test('limits: names the format cannot hold, and more than S3 keeps in 2 KiB of metadata', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('f', 'x')
  await h.core.readdir('/')
  await t.rejects(h.core.setxattr('/f', 'a,b', Buffer.from('x'), 0), InvalidArgumentError)
  await t.rejects(h.core.setxattr('/f', 'user.big', Buffer.alloc(2000, 1), 0), MetadataTooLargeError)
  t.equal((await h.store.head('f')).metadata?.xattr, undefined, 'nothing stored')
  const fh = await h.core.create('/g', 0o644)
  await t.rejects(h.core.setxattr('/g', 'user.big', Buffer.alloc(2000, 1), 0), MetadataTooLargeError, 'a staged file too')
  await t.rejects(h.core.getxattr('/g', 'user.big'), NoSuchAttributeError, 'and its attributes are unchanged')
  await h.core.release(fh)
  await t.rejects(h.core.getxattr('/missing', 'user.x'), { code: 'NOT_FOUND' })
})

t.test("a staged file's extended attributes survive a crash: the journal carries them to the recovered upload", async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 100, error: () => new RemoteServerError('down') })
  const fh = await h.core.create('/staged.bin', 0o644)
  await h.core.write(fh, Buffer.from('not yet uploaded'), 0)
  await h.core.flush(fh)
  await h.core.release(fh)
  await h.core.setxattr('/staged.bin', 'user.k', Buffer.from('kept'), 0)
  t.throws(() => h.store.bytesOf('staged.bin'), 'nothing in the bucket before the crash')
  h.faults.clear()
  const h2 = await h.remount() // a new daemon on the same cache directory: recovery from the journal
  await h2.writes.flush('/')
  t.same(stored((await h.store.head('staged.bin')).metadata), { 'user.k': 'kept' })
  t.equal(h.store.bytesOf('staged.bin').toString(), 'not yet uploaded')
})

t.test('changes of one object at once are made one after the other: none is lost', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('busy.txt', 'x')
  await h.core.readdir('/')
  const names = Array.from({ length: 8 }, (_, i) => `user.n${i}`)
  await Promise.all([...names.map(n => h.core.setxattr('/busy.txt', n, Buffer.from(n), 0)), h.core.chmod('/busy.txt', 0o600)])
  t.same(Object.keys(stored((await h.store.head('busy.txt')).metadata)).sort(), names)
  t.equal((await h.store.head('busy.txt')).metadata?.mode, String(0o100600), 'and the chmod')
})
