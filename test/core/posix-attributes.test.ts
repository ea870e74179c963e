/**
 * s3fs-compatible attributes through the filesystem core over the in-memory S3 twin:
 * what is stored (the twin keeps user metadata as S3 does), what getattr shows, and how
 * many requests it costs (no HEAD per listed file unless --posix-metadata head).
 */
import { constants as fsc } from 'node:fs'
import t from 'tap'
import { AlreadyExistsError, InvalidArgumentError, RemoteServerError } from '../../src/errors.js'
import { STATFS } from '../../src/fuse/fs-limits.js'
import { makeHarness } from './harness.js'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000
const S_IFIFO = 0o010000

async function writeFile(h: Awaited<ReturnType<typeof makeHarness>>, path: string, body: string, mode = 0o644): Promise<void> {
  const fh = await h.core.create(path, mode)
  await h.core.write(fh, Buffer.from(body), 0)
  await h.core.flush(fh)
  await h.core.release(fh)
}

t.test('create stores mode, owner and times as s3fs headers', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await writeFile(h, '/f.txt', 'hello', 0o600)
  const meta = (await h.store.head('f.txt')).metadata ?? {}
  t.equal(meta.mode, String(S_IFREG | 0o600))
  t.equal(meta.uid, '1000')
  t.equal(meta.gid, '1000')
  t.match(meta.mtime, /^\d+(\.\d{9})?$/)
  const st = await h.core.getattr('/f.txt')
  t.equal(st.mode, S_IFREG | 0o600)
  t.equal(Math.floor(Number(meta.mtime) * 1000), st.mtimeMs, 'the mtime header is the mtime shown')
})

t.test('chmod, chown, utimens of a clean object: one copy onto itself, changed fields replaced, other headers kept', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('plain.bin', 'data', new Date(), '', { foreign: 'keepme' })
  await h.core.readdir('/')
  await h.core.chmod('/plain.bin', 0o751)
  t.same((await h.store.head('plain.bin')).metadata?.mode, String(S_IFREG | 0o751))
  await h.core.chown('/plain.bin', 42, 0xffffffff)
  await h.core.utimens('/plain.bin', 1_600_000_000_000, 1_600_000_000_000)
  const meta = (await h.store.head('plain.bin')).metadata ?? {}
  t.same([meta.mode, meta.uid, meta.gid, meta.mtime, meta.atime], [String(S_IFREG | 0o751), '42', undefined, '1600000000', '1600000000'])
  t.ok(meta.ctime !== undefined, 'ctime written')
  t.equal(meta.foreign, 'keepme', "another client's header survives")
  t.equal(h.store.bytesOf('plain.bin').toString(), 'data', 'content untouched')
  const st = await h.core.getattr('/plain.bin')
  t.same([st.mode, st.uid, st.gid, st.mtimeMs], [S_IFREG | 0o751, 42, 1000, 1_600_000_000_000])
})

t.test('listing mode: objects with headers written elsewhere show defaults, with no HEAD; head mode reads them once', async t => {
  for (const mode of ['listing', 'head'] as const) {
    const h = await makeHarness({ metadata: { headForAttributes: mode === 'head' } })
    t.teardown(() => h.close())
    h.store.put('s3fs.txt', 'x', new Date(), '', { mode: String(S_IFREG | 0o640), uid: '7', gid: '8', mtime: '1500000000' })
    await h.core.readdir('/')
    const a = await h.core.getattr('/s3fs.txt')
    const b = await h.core.getattr('/s3fs.txt')
    if (mode === 'listing') {
      t.same([a.mode, a.uid, h.counts().head], [S_IFREG | 0o644, 1000, 0], 'listing: defaults, no HEAD')
    } else {
      t.same([a.mode, a.uid, a.gid, a.mtimeMs], [S_IFREG | 0o640, 7, 8, 1_500_000_000_000], 'head: the headers')
      t.same(b, a)
      t.equal(h.counts().head, 1, 'one HEAD, then remembered')
      h.clock.now += 120_000
      await h.core.readdir('/')
      const c = await h.core.getattr('/s3fs.txt')
      t.same([c.mode, h.counts().head], [S_IFREG | 0o640, 1], 'kept across a re-listing of the same version: no HEAD')
    }
  }
})

t.test('an out-of-band metadata change (same ETag, new LastModified) is seen after the TTL in head mode', async t => {
  const h = await makeHarness({ metadata: { headForAttributes: true } })
  t.teardown(() => h.close())
  h.store.put('f', 'x', new Date(1000), '', { mode: String(S_IFREG | 0o600) })
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/f')).mode, S_IFREG | 0o600)
  h.store.put('f', 'x', new Date(2000), '', { mode: String(S_IFREG | 0o604) })
  h.clock.now += 120_000
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/f')).mode, S_IFREG | 0o604)
})

t.test('an unchanged file keeps its mtime across metadata TTL expiry', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await writeFile(h, '/m.txt', 'abc')
  const before = (await h.core.getattr('/m.txt')).mtimeMs
  h.clock.now += 120_000
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/m.txt')).mtimeMs, before)
  t.equal(h.counts().head, 0)
})

t.test('symlinks: body is the target, mode S_IFLNK|0777; readable both ways', async t => {
  const h = await makeHarness({ metadata: { headForAttributes: true } })
  t.teardown(() => h.close())
  await h.core.symlink('../some/target.txt', '/ln')
  t.equal(h.store.bytesOf('ln').toString(), '../some/target.txt')
  t.equal((await h.store.head('ln')).metadata?.mode, String(S_IFLNK | 0o777))
  const st = await h.core.getattr('/ln')
  t.same([st.mode, st.size], [S_IFLNK | 0o777, 18])
  t.equal(await h.core.readlink('/ln'), '../some/target.txt')
  await t.rejects(h.core.symlink('x', '/ln'), AlreadyExistsError)
  h.store.put('by-s3fs', 'dir/file', new Date(), '', { mode: String(S_IFLNK | 0o777), uid: '0', gid: '0', mtime: '1700000000' })
  h.metadata.invalidatePrefix('/')
  t.equal(await h.core.readlink('/by-s3fs'), 'dir/file', 'a symlink s3fs wrote')
  await t.rejects(h.core.readlink('/'), InvalidArgumentError)
})

t.test('mknod: a zero-byte object with the FIFO mode', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await h.core.mknod('/fifo', S_IFIFO | 0o620)
  t.equal(h.store.bytesOf('fifo').length, 0)
  t.equal((await h.store.head('fifo')).metadata?.mode, String(S_IFIFO | 0o620))
  t.equal((await h.core.getattr('/fifo')).mode, S_IFIFO | 0o620)
})

t.test('directories: mkdir mode on the marker, chmod rewrites it, link count 2 + subdirectories', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  await h.core.mkdir('/d', 0o700)
  t.equal((await h.store.head('d/')).metadata?.mode, String(S_IFDIR | 0o700))
  t.same([(await h.core.getattr('/d')).mode, (await h.core.getattr('/d')).nlink], [S_IFDIR | 0o700, 2])
  await h.core.mkdir('/d/a')
  await h.core.mkdir('/d/b')
  t.equal((await h.core.getattr('/d')).nlink, 4)
  h.store.put('d/', '', new Date(), '', { ...(await h.store.head('d/')).metadata, foreign: 'keepme' })
  await h.core.chmod('/d', 0o750)
  const dirMeta = (await h.store.head('d/')).metadata ?? {}
  t.same([dirMeta.mode, dirMeta.foreign], [String(S_IFDIR | 0o750), 'keepme'], "marker copied onto itself: others' headers kept")
  h.store.put('implicit/x', 'x')
  h.metadata.invalidatePrefix('/')
  await h.core.readdir('/')
  t.equal((await h.core.getattr('/implicit')).nlink, 1, 'not listed: unknown, 1')
  await h.core.readdir('/implicit')
  t.equal((await h.core.getattr('/implicit')).nlink, 2)
  await h.core.chmod('/implicit', 0o700)
  const made = (await h.store.head('implicit/')).metadata ?? {}
  t.same([made.mode, made.uid], [String(S_IFDIR | 0o700), '1000'], 'an implicit directory gains a marker with the full set')
  t.equal((await h.core.getattr('/implicit')).mode, S_IFDIR | 0o700)
})

t.test('writing into an existing object keeps its stored mode and owner', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('keep', 'old', new Date(), '', { mode: String(S_IFREG | 0o600), uid: '5', gid: '6', foreign: 'x' })
  const fh = await h.core.open('/keep', fsc.O_WRONLY | fsc.O_TRUNC)
  await h.core.write(fh, Buffer.from('new'), 0)
  await h.core.flush(fh)
  await h.core.release(fh)
  const meta = (await h.store.head('keep')).metadata ?? {}
  t.same([meta.mode, meta.uid, meta.gid, meta.foreign], [String(S_IFREG | 0o600), '5', '6', 'x'])
})

t.test('attributes persist across a remount (head mode reads them back)', async t => {
  const h = await makeHarness({ metadata: { headForAttributes: true } })
  t.teardown(() => h.close())
  await writeFile(h, '/p', 'x', 0o640)
  await h.core.chown('/p', 11, 12)
  const h2 = await h.remount()
  const st = await h2.core.getattr('/p')
  t.same([st.mode, st.uid, st.gid], [S_IFREG | 0o640, 11, 12])
})

t.test('statfs fields fit 32 bits and describe a large capacity', async t => {
  const s = STATFS // what the adapter answers statfs with
  for (const [k, v] of Object.entries(s)) t.ok(v > 0 && v < 2 ** 32, `${k}=${v}`)
  t.ok(s.blocks * s.frsize >= 2 ** 50, 'at least 1 PiB')
})

t.test("a staged file's mode, owners and times survive a crash: the journal carries them to the recovered upload", async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 100, error: () => new RemoteServerError('down') })
  await writeFile(h, '/staged.txt', 'not yet uploaded', 0o640)
  await h.core.chmod('/staged.txt', 0o600)
  await h.core.chown('/staged.txt', 123, 456)
  await h.core.utimens('/staged.txt', 1_400_000_000_000, 1_500_000_000_000)
  await new Promise(r => setTimeout(r, 50))
  t.throws(() => h.store.bytesOf('staged.txt'), 'nothing in the bucket before the crash')
  h.faults.clear()
  const h2 = await h.remount() // a new daemon on the same cache directory: recovery from the journal
  await h2.writes.flush('/')
  const meta = (await h.store.head('staged.txt')).metadata ?? {}
  t.same(
    [meta.mode, meta.uid, meta.gid, meta.mtime?.split('.')[0], meta.atime?.split('.')[0]],
    [String(S_IFREG | 0o600), '123', '456', '1500000000', '1400000000'],
  )
})

t.test('writing to a file makes its mtime and ctime now and keeps its atime (s3fs test_update_time_append)', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('old.txt', 'old', new Date(1_000_000_000_000), '', {
    mode: String(S_IFREG | 0o644),
    mtime: '1000000000',
    ctime: '1000000000',
    atime: '1000000000',
  })
  const before = Date.now()
  const fh = await h.core.open('/old.txt', fsc.O_WRONLY | fsc.O_APPEND)
  await h.core.write(fh, Buffer.from(' and new'), 3)
  t.ok((await h.core.getattr('/old.txt')).ctimeMs >= before, 'shown at once')
  await h.core.flush(fh)
  await h.core.release(fh)
  const meta = (await h.store.head('old.txt')).metadata ?? {}
  t.ok(Number(meta.mtime) * 1000 >= before - 1 && Number(meta.ctime) * 1000 >= before - 1, `mtime ${meta.mtime}, ctime ${meta.ctime}`)
  t.equal(meta.atime, '1000000000', 'atime kept')
})

t.test(
  "creating or removing an entry makes its directory's mtime and ctime now; rename makes the entry's ctime now; the bucket is not written for it",
  async t => {
    for (const mode of ['listing', 'head'] as const) {
      const h = await makeHarness({ metadata: { headForAttributes: mode === 'head' } })
      t.teardown(() => h.close())
      const OLD = 1_000_000_000_000
      const oldHeaders = { mtime: '1000000000', ctime: '1000000000', atime: '1000000000' }
      const ops: Record<string, (dir: string) => Promise<unknown>> = {
        create: dir => writeFile(h, `${dir}/new.txt`, 'n'),
        mkdir: dir => h.core.mkdir(`${dir}/sub`),
        symlink: dir => h.core.symlink('target', `${dir}/link`),
        mknod: dir => h.core.mknod(`${dir}/fifo`, S_IFIFO | 0o644),
        unlink: dir => h.core.unlink(`${dir}/old.txt`),
        rmdir: dir => h.core.rmdir(`${dir}/empty`),
        rename: dir => h.core.rename(`${dir}/old.txt`, `${dir}/renamed.txt`),
        'rename out': dir => h.core.rename(`${dir}/old.txt`, '/elsewhere.txt'),
      }
      const dirOf = (name: string) => `/${name.replace(' ', '-')}`
      for (const name of Object.keys(ops)) {
        const key = dirOf(name).slice(1)
        h.store.put(`${key}/`, '', new Date(OLD), '', { mode: String(S_IFDIR | 0o755), ...oldHeaders })
        h.store.put(`${key}/old.txt`, 'x', new Date(OLD), '', { mode: String(S_IFREG | 0o640), ...oldHeaders })
        h.store.put(`${key}/empty/`, '', new Date(OLD))
      }
      for (const [name, op] of Object.entries(ops)) {
        const dir = dirOf(name)
        await h.core.readdir(dir)
        const shown = await h.core.getattr(dir)
        if (mode === 'head') t.same([shown.mtimeMs, shown.ctimeMs, shown.atimeMs], [OLD, OLD, OLD], `${name}: before, the stored times`)
        const before = Date.now()
        await op(dir)
        const st = await h.core.getattr(dir)
        t.ok(st.mtimeMs >= before && st.ctimeMs >= before, `${mode} ${name}: the directory's mtime and ctime are now`)
        t.same([st.atimeMs, st.mode, st.uid], [shown.atimeMs, shown.mode, shown.uid], `${mode} ${name}: its atime, mode and owner are kept`)
        t.equal((await h.store.head(`${dir.slice(1)}/`)).metadata?.mtime, '1000000000', `${mode} ${name}: the marker is not rewritten`)
      }
      const renamed = await h.core.getattr('/rename/renamed.txt')
      t.ok(renamed.ctimeMs >= Date.now() - 60_000, `${mode}: the renamed file's ctime is now`)
      t.same([renamed.mtimeMs, renamed.mode], [OLD, S_IFREG | 0o640], `${mode}: its mtime and stored mode are kept`)
      t.ok((await h.core.getattr('/')).mtimeMs >= Date.now() - 60_000, `${mode}: rename into the root changed the root's mtime`)
      const dirBefore = await h.core.getattr('/create')
      await h.core.rename('/create', '/created')
      const dirAfter = await h.core.getattr('/created')
      t.same([dirAfter.mtimeMs, dirAfter.atimeMs], [dirBefore.mtimeMs, dirBefore.atimeMs], `${mode}: a renamed directory keeps the times it showed`)
      t.ok(dirAfter.ctimeMs >= dirBefore.ctimeMs, `${mode}: and its ctime is now`)
    }
  },
)

t.test('opening a file for writing without writing keeps its mtime: shown, and stored by a touch -a (futimens with mtime omitted)', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const OLD = 1_000_000_000_000
  h.store.put('headers.txt', 'x', new Date(OLD + 5_000), '', { mtime: '1000000000', atime: '1000000000', ctime: '1000000000' })
  h.store.put('plain.txt', 'y', new Date(OLD))
  for (const [path, shownBefore] of [
    ['/headers.txt', OLD],
    ['/plain.txt', OLD],
  ] as const) {
    // touch -a: open(O_WRONLY | O_CREAT), then futimens(fd, {UTIME_NOW, UTIME_OMIT}) with the handle open.
    const fh = await h.core.open(path, fsc.O_WRONLY)
    t.equal((await h.core.getattr(path)).mtimeMs, shownBefore, `${path}: the mtime shown while open is the object's`)
    const now = Date.now()
    await h.core.utimens(path, now, undefined)
    await h.core.release(fh)
    const meta = (await h.store.head(path.slice(1))).metadata ?? {}
    t.equal(meta.mtime, '1000000000', `${path}: the stored mtime is the one it had`)
    t.ok(Number(meta.atime) * 1000 >= now - 1 && Number(meta.ctime) * 1000 >= now - 1, `${path}: atime ${meta.atime} and ctime ${meta.ctime} are now`)
    const st = await h.core.getattr(path)
    t.same([st.mtimeMs, st.atimeMs >= now - 1, st.ctimeMs >= now - 1], [shownBefore, true, true], `${path}: shown the same`)
  }
})

t.test("an old s3fs-fuse directory object ('dir': no slash, zero bytes, a directory Content-Type) is a directory once its headers are read", async t => {
  const old = { key: 'old', body: Buffer.alloc(0), size: 0, contentType: 'application/x-directory', metadata: { mode: String(S_IFDIR | 0o750), uid: '7' } }
  await t.test('head mode: replaced by a dir/ marker with its headers; then a directory like any', async t => {
    const h = await makeHarness({ metadata: { headForAttributes: true } })
    t.teardown(() => h.close())
    await h.store.upload(old)
    await h.core.readdir('/')
    const st = await h.core.getattr('/old')
    t.same([st.mode, st.uid], [S_IFDIR | 0o750, 7])
    t.same((await h.store.head('old/')).metadata, old.metadata, 'the marker carries its headers')
    await t.rejects(h.store.head('old'), { code: 'NOT_FOUND' }, 'the old object is gone')
    await writeFile(h, '/old/inner.txt', 'x')
    t.same(await h.core.readdir('/old'), ['inner.txt'])
    await h.core.unlink('/old/inner.txt')
    await h.core.rmdir('/old')
    t.same(h.store.keys(), [], 'nothing left')
  })
  await t.test('a read-only mount shows it as a directory and writes nothing', async t => {
    const h = await makeHarness({ metadata: { headForAttributes: true, readOnly: true } })
    t.teardown(() => h.close())
    await h.store.upload(old)
    await h.core.readdir('/')
    t.equal((await h.core.getattr('/old')).mode, S_IFDIR | 0o750)
    t.same(h.store.keys(), ['old'])
  })
  await t.test('listing mode: a listing cannot tell it from an empty file, and shows one', async t => {
    const h = await makeHarness()
    t.teardown(() => h.close())
    await h.store.upload(old)
    await h.core.readdir('/')
    t.same([(await h.core.getattr('/old')).mode, h.counts().head], [S_IFREG | 0o644, 0])
  })
})
