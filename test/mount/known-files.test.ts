/**
 * getattr (the kernel's LOOKUP) and read-only open of clean cached files answered by the
 * FUSE binding's own threads (vendor/fuse-native/known-files.h), through a real mount: a
 * warm pass over cached files reaches the event loop for none of them, byte-exact; every
 * change through the mount (write, chmod, rename, unlink, a file held open for writing)
 * is seen by the next lookup, never the answer the binding held before; a change in the
 * bucket is seen once the metadata TTL has run out, by the binding's clock too.
 * Lookups are forced with drop_caches (the kernel then forgets its dentries and inodes).
 * Closing a clean read-only handle costs no FLUSH (FOPEN_NOFLUSH); every other close is flushed.
 */
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { type Fixture, makeFixture } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Stats {
  reads: { direct: { fallbacks: number } }
  fuse?: { getattrs: number; reads: number; flushes: number; known?: { getattrs: number; opens: number; openReportsDropped: number; entries: number } }
}

async function stats(fx: Fixture): Promise<Stats> {
  return JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats
}

async function dropCaches(fx: Fixture): Promise<void> {
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
}

/** Checksums of every file under d/, in a child process (never this one: it serves no mount, but keep to the rule). */
async function sums(t: Test, fx: Fixture): Promise<Map<string, string>> {
  const r = await fx.sh(`cd ${fx.mountPoint}/d && sha256sum *`)
  t.equal(r.code, 0, r.stderr)
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map(l => [l.slice(66), l.slice(0, 64)] as const),
  )
}

/** `stat -c '%s %a'` of `name` under d/ after the kernel forgot it, or the error. */
async function statAfterDrop(fx: Fixture, name: string): Promise<string> {
  await dropCaches(fx)
  const r = await fx.sh(`stat -c '%s %a' ${join(fx.mountPoint, 'd', name)} 2>&1`)
  return r.stdout.trim()
}

/**
 * Another process opens d/`name` for appending, writes `bytes` bytes and holds it open (its
 * writes staged) until `close()`, which resolves with its exit code.
 */
async function holdOpenAppending(fx: Fixture, name: string, bytes: number): Promise<{ close: () => Promise<number> }> {
  const go = join(fx.root, `go-${name}`)
  const py = `
import os, sys, time
f = open(sys.argv[1], 'ab'); f.write(b'x' * int(sys.argv[3])); f.flush()
open(sys.argv[2] + '.written', 'w').close()
while not os.path.exists(sys.argv[2]): time.sleep(0.02)
f.close()
`
  const writer = fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${join(fx.mountPoint, 'd', name)} ${go} ${bytes}`)
  for (let i = 0; i < 300 && (await fx.sh(`test -e ${go}.written`)).code !== 0; i++) await new Promise(r => setTimeout(r, 50))
  return {
    close: async () => {
      await fx.sh(`touch ${go}`)
      return (await writer).code
    },
  }
}

t.test('warm passes are answered by the binding; changes through the mount are seen at the next lookup', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 24; i++) files.set(`f${i}`, randomBytes(1000 + i * 5000))
  await Promise.all([...files].map(([k, v]) => fx.put(`d/${k}`, v)))
  // An indefinite TTL, as for a dataset that never changes: published entries never expire.
  await fx.mount(['--metadata-ttl', 'indefinite'])
  // Cold pass (published without blocks), then one that opens through the daemon (republished openable).
  for (let pass = 0; pass < 2; pass++) {
    await dropCaches(fx)
    await sums(t, fx)
  }
  await dropCaches(fx)
  const before = await stats(fx)
  const got = await sums(t, fx)
  const after = await stats(fx)
  for (const [name, body] of files) t.equal(got.get(name), sha(body), `${name} byte-exact`)
  const known = after.fuse?.known
  t.ok(known, 'the binding answers getattr and open of published files')
  t.ok((known?.getattrs ?? 0) - (before.fuse?.known?.getattrs ?? 0) >= files.size, `the warm pass's lookups answered by the binding (${known?.getattrs})`)
  t.ok((known?.opens ?? 0) - (before.fuse?.known?.opens ?? 0) >= files.size, `and its opens (${known?.opens})`)
  t.ok((after.fuse?.getattrs ?? 0) - (before.fuse?.getattrs ?? 0) <= 2, 'no file lookup reached the event loop (at most the directory)')
  t.equal((after.fuse?.reads ?? 0) - (before.fuse?.reads ?? 0), 0, 'no read either')
  t.equal(after.reads.direct.fallbacks, 0)
  t.equal(known?.openReportsDropped, 0, 'every open reported to the daemon')

  // Each change, then a fresh lookup from another process: the new answer, never the published one.
  t.equal((await fx.sh(`printf 'shorter' > ${fx.mountPoint}/d/f0`)).code, 0)
  t.equal(await statAfterDrop(fx, 'f0'), '7 644', 'overwritten: the new size')
  t.equal((await fx.sh(`cat ${fx.mountPoint}/d/f0`)).stdout, 'shorter')
  t.equal((await fx.sh(`chmod 600 ${fx.mountPoint}/d/f1`)).code, 0)
  t.equal(await statAfterDrop(fx, 'f1'), `${files.get('f1')?.length} 600`, 'chmod: the new mode')
  t.equal((await fx.sh(`mv ${fx.mountPoint}/d/f2 ${fx.mountPoint}/d/g2`)).code, 0)
  t.match(await statAfterDrop(fx, 'f2'), /No such file/, 'renamed away: gone')
  t.equal(await statAfterDrop(fx, 'g2'), `${files.get('f2')?.length} 644`, 'renamed to: there')
  t.equal((await fx.sh(`rm ${fx.mountPoint}/d/f3`)).code, 0)
  t.match(await statAfterDrop(fx, 'f3'), /No such file/, 'removed: gone')

  // Held open for writing by another process: its size is the staged one, not the published one.
  const writer = await holdOpenAppending(fx, 'f4', 12345)
  t.equal(await statAfterDrop(fx, 'f4'), `${(files.get('f4')?.length ?? 0) + 12345} 644`, 'being written: the staged size')
  t.equal(await writer.close(), 0)
  t.equal(await statAfterDrop(fx, 'f4'), `${(files.get('f4')?.length ?? 0) + 12345} 644`, 'written: the uploaded size')
  const untouched = await sums(t, fx)
  t.equal(untouched.get('f5'), sha(files.get('f5') as Buffer), 'the others still byte-exact')
})

t.test("a change in the bucket is seen once the metadata TTL has run out, by the binding's clock too", async t => {
  const fx = await makeFixture(t)
  await fx.put('d/x', Buffer.alloc(10))
  await fx.mount(['--metadata-ttl', '2s'])
  t.equal(await statAfterDrop(fx, 'x'), '10 644')
  t.equal(await statAfterDrop(fx, 'x'), '10 644')
  const s = await stats(fx)
  t.ok((s.fuse?.known?.getattrs ?? 0) >= 1, 'the second lookup was answered by the binding')
  await fx.put('d/x', Buffer.alloc(20))
  await new Promise(r => setTimeout(r, 2500))
  t.equal(await statAfterDrop(fx, 'x'), '20 644', 'the new version after the TTL')
})

t.test('closing a clean read-only handle costs no FLUSH; a handle that may hold writes is flushed at every close', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 6; i++) files.set(`f${i}`, randomBytes(3000 + i * 7000))
  await Promise.all([...files].map(([k, v]) => fx.put(`d/${k}`, v)))
  await fx.mount(['--metadata-ttl', 'indefinite'])
  const flushes = async (): Promise<number> => (await stats(fx)).fuse?.flushes ?? -1
  t.equal(await flushes(), 0, 'none before any close')
  // Cold (opened by the daemon), then twice warm (the second opened by the binding itself).
  for (let pass = 0; pass < 3; pass++) {
    await dropCaches(fx)
    const got = await sums(t, fx)
    for (const [name, body] of files) t.equal(got.get(name), sha(body), `pass ${pass}: ${name} byte-exact`)
    t.equal(await flushes(), 0, `pass ${pass}: ${files.size} read-only closes, no FLUSH`)
  }
  t.ok(((await stats(fx)).fuse?.known?.opens ?? 0) >= files.size, 'the last pass was opened by the binding')

  // Opened for writing, even with nothing written: flushed at close.
  t.equal((await fx.sh(`python3 -c "open('${fx.mountPoint}/d/f0', 'r+b').close()"`)).code, 0)
  t.equal(await flushes(), 1, 'a close of a handle opened for writing is flushed')
  // A write, closed: flushed, and its bytes land.
  t.equal((await fx.sh(`printf 'new bytes' > ${fx.mountPoint}/d/new`)).code, 0)
  const afterWrite = await flushes()
  t.ok(afterWrite >= 2, `a writer's close is flushed (${afterWrite})`)
  t.equal((await fx.sh(`cat ${fx.mountPoint}/d/new`)).stdout, 'new bytes')

  // A read-only handle on staged writes (a writer holds the file open) is flushed at close too.
  const writer = await holdOpenAppending(fx, 'f1', 4321)
  const beforeReader = await flushes()
  const read = await fx.sh(`wc -c < ${fx.mountPoint}/d/f1`)
  t.equal(read.stdout.trim(), String((files.get('f1')?.length ?? 0) + 4321), 'the reader sees the staged bytes')
  const readerFlushes = (await flushes()) - beforeReader
  t.ok(readerFlushes >= 1, `the read-only close of a file with staged writes is flushed (${readerFlushes}: the shell closes a redirected descriptor twice)`)
  t.equal(await writer.close(), 0)
})
