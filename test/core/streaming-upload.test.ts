/**
 * Uploads streamed while a file is written front to back: parts leave before close,
 * close sends the tail and completes; anything but appending (a write elsewhere, a
 * truncate, a rename) abandons the stream and the file is uploaded whole, byte-exact.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import t from 'tap'
import { MiB, makeHarness, type Harness } from './harness.js'

async function writeSeq(h: Harness, fh: number, data: Buffer, from = 0, to = data.length): Promise<void> {
  for (let off = from; off < to; off += 128 * 1024) await h.core.write(fh, data.subarray(off, Math.min(to, off + 128 * 1024)), off)
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await new Promise(r => setTimeout(r, 5))
}

for (const mode of ['sync', 'async'] as const) {
  t.test(`${mode}: a file written front to back uploads its parts before close`, async t => {
    const h = await makeHarness({ writeMode: mode })
    t.teardown(() => h.close())
    const data = randomBytes(20 * MiB + 777)
    const fh = await h.core.create('/ckpt.pt')
    await writeSeq(h, fh, data)
    await until(() => h.store.partLog.length >= 9)
    t.ok(h.store.partLog.length >= 9, `${h.store.partLog.length} parts of 2 MiB sent before close`)
    await h.core.flush(fh)
    await h.core.release(fh)
    await h.writes.flush('/')
    t.ok(h.store.bytesOf('ckpt.pt').equals(data), 'byte-exact')
    t.match((await h.store.head('ckpt.pt')).etag, /-11$/, 'one multipart upload of 11 parts')
    t.equal(h.store.openMultipartUploads, 0)
    t.equal(h.counts().get, 0)
  })
}

t.test('a write elsewhere abandons the stream; the file is uploaded whole', async t => {
  const h = await makeHarness()
  t.teardown(() => h.close())
  const data = randomBytes(12 * MiB)
  const fh = await h.core.create('/f.bin')
  await writeSeq(h, fh, data, 0, 8 * MiB)
  await until(() => h.store.partLog.length >= 2)
  data.fill(7, 1000, 2000) // rewrite bytes already sent
  await h.core.write(fh, data.subarray(1000, 2000), 1000)
  await writeSeq(h, fh, data, 8 * MiB)
  await h.core.flush(fh)
  await h.core.release(fh)
  t.ok(h.store.bytesOf('f.bin').equals(data), 'byte-exact, including the rewritten range')
  await until(() => h.store.openMultipartUploads === 0)
  t.equal(h.store.openMultipartUploads, 0, 'the abandoned multipart upload was aborted')
})

t.test('a truncate or a rename while streaming: whole upload under the right name', async t => {
  const h = await makeHarness({ writeMode: 'async' })
  t.teardown(() => h.close())
  const data = randomBytes(10 * MiB)
  const fh = await h.core.create('/.tmp')
  await writeSeq(h, fh, data)
  await until(() => h.store.partLog.length >= 2)
  await h.core.rename('/.tmp', '/final')
  await h.core.flush(fh)
  await h.core.release(fh)
  await h.writes.flush('/')
  t.same(h.store.keys(), ['final'])
  t.ok(h.store.bytesOf('final').equals(data))
  const fh2 = await h.core.open('/final', constants.O_WRONLY | constants.O_TRUNC)
  const data2 = randomBytes(9 * MiB)
  await writeSeq(h, fh2, data2)
  await h.core.ftruncate(fh2, 5 * MiB)
  await h.core.flush(fh2)
  await h.core.release(fh2)
  await h.writes.flush('/')
  t.ok(h.store.bytesOf('final').equals(data2.subarray(0, 5 * MiB)), 'truncated after streaming: exact')
  await until(() => h.store.openMultipartUploads === 0)
  t.equal(h.store.openMultipartUploads, 0)
})
