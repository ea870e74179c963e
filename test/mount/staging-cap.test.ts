/**
 * `--staging-size` through a real mount: a writer faster than the store (every PUT
 * stalled 1.5 s by the local server's fault switch) writes more than the bound; its
 * writes wait for uploads to make room, every byte lands in the bucket, and `stats`
 * shows the staged bytes and the waits. A file larger than the bound while nothing
 * uploads: ENOSPC to the writer, nothing partial in the bucket. Listed in docs/SEMANTICS.md.
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makeFixture, sh } from './mount-fixture.js'
import { MiB, keys, sha, getObject } from './write-helpers.js'

interface StagingStats {
  writes: { staging: { stagedBytes: number; maxBytes: number; waits: number; refusals: number } }
}

t.test('writes past a small --staging-size wait for uploads; every byte lands; ENOSPC for a file that cannot fit', async t => {
  const fx = await makeFixture(t)
  await fx.mount(['--write-mode', 'async', '--staging-size', '16MiB'])
  const stats = async () => (JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as StagingStats).writes.staging
  const files = Array.from({ length: 6 }, () => randomBytes(6 * MiB + 7))
  for (const [i, data] of files.entries()) await writeFile(join(fx.root, `src${i}`), data)
  await fx.server.injectFault({ delayMs: 1500, match: 'putObject', count: 6 })
  const cp = await sh(`for i in 0 1 2 3 4 5; do cp ${fx.root}/src$i ${fx.mountPoint}/f$i.bin || exit 1; done`)
  t.equal(cp.code, 0, `36 MiB written through a 16 MiB staging bound: ${cp.stderr}`)
  const during = await stats()
  t.equal(during.maxBytes, 16 * MiB, 'stats shows the bound')
  t.ok(during.waits > 0, `writes waited for uploads (${during.waits})`)
  t.equal(during.refusals, 0)
  const flushed = await fx.cli(['flush', fx.mountPoint])
  t.equal(flushed.code, 0, flushed.stderr)
  for (const [i, data] of files.entries()) t.equal(sha(await getObject(fx, `f${i}.bin`)), sha(data), `f${i}.bin byte-exact in the bucket`)
  t.equal((await stats()).stagedBytes, 0, 'nothing staged once uploaded')

  await writeFile(join(fx.root, 'huge'), randomBytes(20 * MiB))
  const dd = await sh(`dd if=${fx.root}/huge of=${fx.mountPoint}/huge.bin bs=1M 2>&1`)
  t.not(dd.code, 0, 'the writer is told')
  t.match(dd.stdout, /No space left on device/, 'ENOSPC')
  // dd's create and ftruncate(0) may have committed the empty file before its first write; never any of its 20 MiB.
  const inBucket = (await keys(fx)).includes('huge.bin') ? (await getObject(fx, 'huge.bin')).length : undefined
  t.ok(inBucket === undefined || inBucket === 0, `nothing partial in the bucket (${inBucket ?? 'absent'})`)
  t.equal((await stats()).refusals, 1)
})
