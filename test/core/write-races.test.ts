/**
 * The write path's races, each built on purpose (a delayed or failing upload holds
 * the window open) rather than hoped for: two writers of one path, a rename onto
 * a staged file, a rename or unlink while an upload is in flight, a reopen after
 * close, and journals that recovery must read exactly.
 */
import { constants } from 'node:fs'
import { constants as osConstants } from 'node:os'
import { readdir, readFile, writeFile as writeDisk } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { CrossDeviceError, FileTooLargeError, InvalidNameError, RemoteServerError } from '../../src/errors.js'
import { errnoOf } from '../../src/fuse/errno-table.js'
import type { UploadRequest } from '../../src/s3/object-client.js'
import { uploadDeadlineMs } from '../../src/s3/upload-limits.js'
import { MiB, makeHarness, readAll, type Harness } from './harness.js'

const O_WRONLY = constants.O_WRONLY
const O_APPEND = constants.O_APPEND
const O_RDONLY = constants.O_RDONLY

/** Records the bytes each upload sent, read at the moment the store receives it. */
function recordUploads(h: Harness): Array<{ key: string; body: string }> {
  const seen: Array<{ key: string; body: string }> = []
  const store = h.store
  const inner = store.upload.bind(store)
  store.upload = async (req: UploadRequest) => {
    const etag = await inner(req)
    seen.push({ key: req.key, body: store.bytesOf(req.key).toString() })
    return etag
  }
  return seen
}

/** The kernel holds the inode lock from reading i_size to the end of an O_APPEND write: so does this. */
let inodeLock: Promise<unknown> = Promise.resolve()

async function append(h: Harness, path: string, line: string): Promise<void> {
  const fh = await h.core.open(path, O_WRONLY | O_APPEND)
  const write = inodeLock.then(async () => h.core.write(fh, Buffer.from(line), (await h.core.getattr(path)).size))
  inodeLock = write.catch(() => {})
  await write
  await h.core.flush(fh)
  await h.core.release(fh)
}

async function put(h: Harness, path: string, body: string): Promise<void> {
  const fh = await h.core.create(path)
  await h.core.write(fh, Buffer.from(body), 0)
  await h.core.flush(fh)
  await h.core.release(fh)
}

t.test('two writers of one existing path share one staged file: no line lost', async t => {
  for (const mode of ['sync', 'async'] as const) {
    const h = await makeHarness({ writeMode: mode })
    t.teardown(() => h.close())
    h.store.put('log', 'header\n')
    // Every upload is slow, so one writer's upload is always in flight while the other writes.
    h.faults.inject({ op: 'upload', remaining: Infinity, delayMs: 5 })
    const [a, b] = await Promise.all([h.core.open('/log', O_WRONLY | O_APPEND), h.core.open('/log', O_WRONLY | O_APPEND)])
    t.ok(a !== undefined && b !== undefined)
    await Promise.all([h.core.release(a), h.core.release(b)])
    const writer = async (name: string) => {
      for (let i = 0; i < 25; i++) await append(h, '/log', `${name}-${i}\n`)
    }
    await Promise.all([writer('a'), writer('b')])
    await h.writes.flush('/')
    const lines = h.store.bytesOf('log').toString().trim().split('\n')
    t.equal(lines.length, 51, `${mode}: 1 + 2 × 25 lines`)
    t.equal(new Set(lines).size, 51, `${mode}: every line once`)
  }
})

t.test('an upload sends the snapshot its close saw, not later writes (copy-on-write)', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  const uploads = recordUploads(h)
  h.faults.inject({ op: 'upload', remaining: 1, delayMs: 200 })
  await put(h, '/f', 'version one')
  // The first upload waits 200 ms before the store reads the staged bytes; write v2 meanwhile.
  const fh = await h.core.open('/f', O_WRONLY)
  await h.core.write(fh, Buffer.from('VERSION TWO'), 0)
  t.equal((await readAll(h.core, '/f')).toString(), 'VERSION TWO', 'readers see the newest bytes')
  await h.core.flush(fh)
  await h.core.release(fh)
  await h.writes.flush('/')
  t.same(
    uploads.map(u => u.body),
    ['version one', 'VERSION TWO'],
    'each upload sent exactly its own generation',
  )
  t.equal(h.store.bytesOf('f').toString(), 'VERSION TWO')
})

t.test('rename while the source upload is in flight leaves no ghost at the old key', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 1, delayMs: 300 })
  await put(h, '/.tmp', 'checkpoint bytes')
  await h.core.rename('/.tmp', '/final')
  await h.writes.flush('/')
  await new Promise(r => setTimeout(r, 400)) // past the delayed upload, had it not been cancelled
  t.same(h.store.keys(), ['final'])
  t.equal(h.store.bytesOf('final').toString(), 'checkpoint bytes')
})

t.test('an upload that completes while a rename waits its turn: the renamed file stays writable, no ghost', async t => {
  // A PUT the store finished just as the rename cancelled it (the cancel came too late): the upload
  // retires the staged file before the rename runs, and the rename must not bring the retired file back.
  for (const mode of ['sync', 'async'] as const) {
    const h = await makeHarness({ writeMode: mode })
    t.teardown(() => h.close())
    const store = h.store
    const inner = store.upload.bind(store)
    store.upload = async (req: UploadRequest) => {
      const { signal: _ignored, ...rest } = req
      return inner(rest)
    }
    h.faults.inject({ op: 'upload', remaining: 1, delayMs: 200 })
    const fh = await h.core.create('/.tmp')
    await h.core.write(fh, Buffer.from('checkpoint bytes'), 0)
    const closing = h.core.flush(fh).then(() => h.core.release(fh))
    await new Promise(r => setTimeout(r, 50)) // the upload is in flight now
    await h.core.rename('/.tmp', '/final')
    await closing
    await append(h, '/final', ' + appended')
    await h.writes.flush('/')
    t.same(store.keys(), ['final'], `${mode}: no ghost at the old key`)
    t.equal(store.bytesOf('final').toString(), 'checkpoint bytes + appended', `${mode}: the renamed file took the append`)
    t.equal((await readAll(h.core, '/final')).toString(), 'checkpoint bytes + appended', `${mode}: and reads it back`)
    // The same inside a directory rename: the file's upload lands after the directory was listed.
    await h.core.mkdir('/d')
    h.faults.inject({ op: 'upload', remaining: 1, delayMs: 200 })
    const dh = await h.core.create('/d/f')
    await h.core.write(dh, Buffer.from('in a directory'), 0)
    const closingD = h.core.flush(dh).then(() => h.core.release(dh))
    await new Promise(r => setTimeout(r, 50))
    await h.core.rename('/d', '/e')
    await closingD
    await append(h, '/e/f', ' + appended')
    await h.writes.flush('/')
    t.same(store.keys().sort(), ['e/', 'e/f', 'final'], `${mode}: the directory moved whole, nothing left under d/`)
    t.equal(store.bytesOf('e/f').toString(), 'in a directory + appended', `${mode}: the moved file took the append`)
  }
})

t.test('an open of a path while a rename moves a staged file onto it: the open gets the renamed file, no second staged file', async t => {
  // slowUploadMs: the renamed file's own upload after the rename; short, it lands (and changes the object the open
  // is copying in) before the copy ends; long, the renamed file is still staged when the open's new file is ready.
  for (const slowUploadMs of [0, 2000]) {
    const h = await makeHarness({ writeMode: 'async' })
    t.teardown(() => h.close())
    h.store.put('b', 'old b content')
    h.faults.inject({ op: 'upload', remaining: 1, delayMs: 300 }) // the rename waits its turn behind this upload...
    h.faults.inject({ op: 'upload', remaining: Infinity, delayMs: slowUploadMs })
    await put(h, '/a', 'A bytes')
    const renaming = h.core.rename('/a', '/b')
    await new Promise(r => setTimeout(r, 50)) // ...past its check of /b, when this open starts making a staged /b
    h.faults.inject({ op: 'get', remaining: Infinity, delayMs: 600 }) // whose copy of the old object ends after the rename
    const opening = h.core.open('/b', O_WRONLY)
    await renaming
    const fh = await opening
    h.faults.clear()
    await h.core.write(fh, Buffer.from('X'), 0)
    await h.core.flush(fh)
    await h.core.release(fh)
    await h.writes.flush('/')
    await new Promise(r => setTimeout(r, slowUploadMs + 700)) // an upload of a forgotten staged file would have landed
    t.same(h.store.keys(), ['b'], `upload after ${slowUploadMs} ms: one object`)
    t.equal(h.store.bytesOf('b').toString(), 'X bytes', `upload after ${slowUploadMs} ms: the write went to the renamed file, and only it reached the bucket`)
  }
})

t.test('rename onto a staged target: the target never overwrites the renamed file', async t => {
  for (const stagedSource of [true, false]) {
    const h = await makeHarness({ writeMode: 'async' })
    t.teardown(() => h.close())
    if (!stagedSource) h.store.put('src', 'from the bucket')
    h.faults.inject({ op: 'upload', remaining: Infinity, error: () => new RemoteServerError('store down') })
    await put(h, '/dst', 'old target')
    if (stagedSource) await put(h, '/src', 'staged source')
    await h.core.rename('/src', '/dst')
    h.faults.clear()
    await h.writes.flush('/')
    const want = stagedSource ? 'staged source' : 'from the bucket'
    t.equal(h.store.bytesOf('dst').toString(), want)
    t.same(h.store.keys(), ['dst'])
    const h2 = await h.remount() // nothing of the old target comes back from the journal
    await h2.writes.flush('/')
    t.equal(h.store.bytesOf('dst').toString(), want, `${stagedSource ? 'staged' : 'bucket'} source: still the renamed bytes after a remount`)
  }
})

t.test('unlink of a closed file a reader holds: never uploaded, not even after a remount', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: Infinity, error: () => new RemoteServerError('store down') })
  await put(h, '/doomed', 'delete me')
  const reader = await h.core.open('/doomed', O_RDONLY)
  await h.core.unlink('/doomed')
  t.equal((await h.core.read(reader, 0, 100)).toString(), 'delete me', 'the open handle still reads')
  h.faults.clear()
  const h2 = await h.remount()
  await h2.writes.flush('/')
  t.same(h.store.keys(), [], 'the deleted file did not come back')
  await h.core.release(reader)
})

t.test("a multipart object renamed then read: the copy's ETag is used (no ESTALE)", async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  h.store.put('big', Buffer.alloc(9 * MiB, 7))
  h.store.etagSuffixOnCopy = '-copy'
  await h.core.getattr('/big')
  await h.core.rename('/big', '/moved')
  const data = await readAll(h.core, '/moved')
  t.equal(data.length, 9 * MiB)
})

t.test('recovery: journals are the truth, each record on its own', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: Infinity, error: () => new RemoteServerError('store down') })
  await put(h, '/a', 'alpha')
  await put(h, '/b', 'bravo')
  const staging = join(h.cacheDir, 'staging')
  const journals = (await readdir(staging)).filter(n => n.endsWith('.json'))
  t.equal(journals.length, 2)
  // Corrupt one journal; give another source's journal to the directory; lengthen a data file.
  const [first, second] = journals as [string, string]
  const j2 = JSON.parse(await readFile(join(staging, second), 'utf8')) as { committed: { data: string }; key: string }
  await writeDisk(join(staging, first), '{not json')
  await writeDisk(join(staging, j2.committed.data), 'garbage beyond the journaled size', { flag: 'a' })
  await writeDisk(
    join(staging, 'ffffffffffffffffffffffff.json'),
    JSON.stringify({
      version: 2,
      seq: 1,
      bucket: 'another-bucket',
      prefix: '',
      key: 'foreign',
      committed: null,
      working: null,
    }),
  )
  h.faults.clear()
  const h2 = await h.remount()
  await h2.writes.flush('/')
  t.same(h.store.keys(), [j2.key], 'the readable record was uploaded')
  t.equal(h.store.bytesOf(j2.key).toString(), j2.key === 'a' ? 'alpha' : 'bravo', 'exactly the journaled size')
  const aside = await readdir(join(h.cacheDir, 'recovered'))
  t.ok(aside.includes(first), 'the unreadable journal was moved aside, not deleted')
  t.ok((await readdir(staging)).includes('ffffffffffffffffffffffff.json'), "another source's journal is left in place")
})

t.test('async backpressure: close waits when the backlog is full', async t => {
  const h = await makeHarness({ writeMode: 'async', backlogFiles: 2 })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: Infinity, delayMs: 150 })
  const t0 = Date.now()
  for (let i = 0; i < 6; i++) await put(h, `/f${i}`, `file ${i}`)
  t.ok(Date.now() - t0 >= 250, `six closes with room for two waited for uploads (${Date.now() - t0} ms)`)
  await h.writes.flush('/')
  t.equal(h.store.keys().length, 6)
})

t.test('errno: names over 255 bytes, impossible sizes, large directory renames', async t => {
  const h = await makeHarness({ renameDirMaxObjects: 3 })
  t.teardown(() => h.close())
  const long = '/' + 'x'.repeat(256)
  await t.rejects(h.core.create(long), InvalidNameError)
  await t.rejects(h.core.getattr(long), InvalidNameError)
  t.equal(errnoOf(new InvalidNameError('x')), -osConstants.errno.ENAMETOOLONG)
  await put(h, '/f', 'x')
  await t.rejects(h.core.truncate('/f', 6 * 2 ** 40), FileTooLargeError)
  t.equal(errnoOf(new FileTooLargeError('x')), -osConstants.errno.EFBIG)
  for (let i = 0; i < 4; i++) h.store.put(`dir/${i}`, 'x')
  await t.rejects(h.core.rename('/dir', '/dir2'), CrossDeviceError)
  t.equal(errnoOf(new CrossDeviceError('x')), -osConstants.errno.EXDEV)
  t.equal(h.store.keys().filter(k => k.startsWith('dir2')).length, 0, 'nothing copied')
  t.ok(Number.isInteger(uploadDeadlineMs(700_000_001)), 'the upload deadline is whole milliseconds')
  t.ok(Number.isInteger(uploadDeadlineMs(3 * 2 ** 30 + 1)))
})
