/**
 * `--staging-size`: written data staged on local disk is bounded apart from the block
 * cache. A writer at the bound waits for uploads to make room and every byte lands;
 * a file that cannot fit while nothing uploads is ENOSPC at once, and then never
 * reaches the bucket partially. Listed in docs/SEMANTICS.md.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { CacheFullError } from '../../src/errors.js'
import { MiB, makeHarness } from './harness.js'

const WRITE = 128 * 1024

t.test('async writes past the bound wait for uploads to drain; every byte lands; staging never exceeds the bound by more than a write', async t => {
  const cap = 6 * MiB
  const h = await makeHarness({ writeMode: 'async', staging: { maxBytes: cap, waitMs: 60_000 }, streamPartBytes: 0 })
  t.teardown(() => h.close())
  h.faults.inject({ op: 'upload', remaining: 8, delayMs: 200 }) // uploads slower than the writer
  const files = Array.from({ length: 8 }, () => randomBytes(2 * MiB + 1000))
  let peak = 0
  for (const [i, data] of files.entries()) {
    const fh = await h.core.create(`/f${i}.bin`)
    for (let off = 0; off < data.length; off += WRITE) {
      await h.core.write(fh, data.subarray(off, off + WRITE), off)
      peak = Math.max(peak, h.writes.stats().staging.stagedBytes)
    }
    await h.core.flush(fh)
    await h.core.release(fh)
  }
  await h.writes.flush('/')
  for (const [i, data] of files.entries()) t.ok(h.store.bytesOf(`f${i}.bin`).equals(data), `f${i}.bin byte-exact in the bucket`)
  const s = h.writes.stats().staging
  t.ok(peak <= cap + WRITE, `staged at most the bound plus one write (peak ${peak}, bound ${cap})`)
  t.ok(s.waits > 0, `writers waited for uploads (${s.waits} times)`)
  t.equal(s.refusals, 0, 'no write refused')
  t.equal(s.stagedBytes, 0, 'nothing staged once everything is uploaded')
  t.equal(s.maxBytes, cap)
})

t.test('a file larger than the bound with nothing uploading: ENOSPC at once; close fails; nothing partial in the bucket', async t => {
  const cap = 4 * MiB
  const h = await makeHarness({ staging: { maxBytes: cap, waitMs: 120_000 }, streamPartBytes: 0 })
  t.teardown(() => h.close())
  const data = randomBytes(6 * MiB)
  const fh = await h.core.create('/big.bin')
  let written = 0
  let refused: unknown
  for (let off = 0; off < data.length && refused === undefined; off += WRITE) {
    await h.core.write(fh, data.subarray(off, off + WRITE), off).then(
      () => {
        written += WRITE
      },
      (err: unknown) => {
        refused = err
      },
    )
  }
  t.type(refused, CacheFullError, 'ENOSPC for the write that does not fit')
  t.equal(written, cap, 'every write below the bound went through')
  await t.rejects(h.core.flush(fh), CacheFullError, 'close reports it too')
  await h.core.release(fh)
  t.throws(() => h.store.bytesOf('big.bin'), 'the bucket never gets a partial file')
  const s = h.writes.stats().staging
  t.equal(s.refusals, 1)
  t.equal(s.stagedBytes, 0, 'the dropped changes left staging')
  // The bound holds for the next writer, who is not blocked by the refused one.
  const fh2 = await h.core.create('/small.bin')
  await h.core.write(fh2, Buffer.from('fits'), 0)
  await h.core.flush(fh2)
  await h.core.release(fh2)
  t.equal(h.store.bytesOf('small.bin').toString(), 'fits')
})
