// The shard workload's random reader on a plain local file (no mount): one
// thread and four threads read exactly the listed blocks, and a bad path is
// a counted error, not a crash.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { preparePreadOffsets } from '../../tools/bench/workers/pread-reader.js'

const BLOCK = 4096

t.test('one and four threads read every listed block once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pread-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'shard.bin')
  await writeFile(path, Buffer.alloc(64 * BLOCK, 7))
  const offsets = [5, 63, 0, 17, 40, 41, 2, 9, 33].map((b) => b * BLOCK)
  for (const shares of [[offsets], [offsets.slice(0, 2), offsets.slice(2, 4), offsets.slice(4, 7), offsets.slice(7)]]) {
    const run = await preparePreadOffsets({ kind: 'pread-offsets', path, shares, readBytes: BLOCK })
    const r = await run()
    t.equal(r.items, offsets.length, `${shares.length} thread(s): every read done`)
    t.equal(r.bytes, offsets.length * BLOCK, 'whole blocks')
    t.equal(r.errors, 0)
    t.ok(r.seconds >= 0)
  }
  // A read that runs past the end is short, not an error.
  const tail = await (await preparePreadOffsets({ kind: 'pread-offsets', path, shares: [[63 * BLOCK + 100]], readBytes: BLOCK }))()
  t.equal(tail.bytes, BLOCK - 100)
})

t.test('a missing file is one counted error', async (t) => {
  for (const shares of [[[0]], [[0], [BLOCK]]]) {
    const r = await (await preparePreadOffsets({ kind: 'pread-offsets', path: '/nonexistent/shard.bin', shares, readBytes: BLOCK }))()
    t.equal(r.errors, 1)
    t.match(r.firstError, /ENOENT/)
    t.equal(r.bytes, 0)
  }
})
