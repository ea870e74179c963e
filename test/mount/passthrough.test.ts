/**
 * `--passthrough`: the kernel reads whole-object copies of large cached files itself
 * (vendor/fuse-native/passthrough.h, src/cache/whole-objects.ts), through a real mount on a
 * kernel that offers FUSE passthrough (Linux >= 6.9; the test is skipped where the kernel does
 * not grant it, and says so). Byte-exact reads with no read reaching the daemon; the kernel's
 * rules for concurrent opens of one inode; an out-of-band overwrite, `free`, the copies'
 * budget, a remount, and a daemon killed in the middle of making a copy.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { type Fixture, makeFixture, sh } from './mount-fixture.js'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Stats {
  fuse?: { reads: number }
  passthrough?: {
    kernel?: { granted: boolean; opens: number; shared: number; cachedFallbacks: number; busy: number; inodes: number; waits: number }
    copies: { files: number; bytes: number; made: number; failed: number; removed: number }
  }
}

async function stats(fx: Fixture): Promise<Stats> {
  return JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats
}

async function untilCopies(fx: Fixture, made: number): Promise<Stats> {
  for (let i = 0; i < 200; i++) {
    const s = await stats(fx)
    if ((s.passthrough?.copies.made ?? 0) >= made) return s
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(`no ${made} whole-object copies made in 10 s: ${JSON.stringify((await stats(fx)).passthrough)}`)
}

async function dropCaches(fx: Fixture): Promise<void> {
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
}

async function sha256Of(t: Test, fx: Fixture, name: string): Promise<string> {
  const r = await fx.sh(`sha256sum ${join(fx.mountPoint, name)}`)
  t.equal(r.code, 0, r.stderr)
  return r.stdout.slice(0, 64)
}

/** 64 random 256 KiB reads (fixed offsets) in a child process: the sha256 of what they read, in order. */
const RANDOM_READS = `
import os, sys, hashlib, random
r = random.Random(7); h = hashlib.sha256(); fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(64):
    off = r.randrange(0, int(sys.argv[2]) - 1)
    h.update(os.pread(fd, 262144, off))
os.close(fd); print(h.hexdigest())
`.replace(/"/g, '\\"')

async function randomReads(fx: Fixture, name: string, size: number): Promise<{ code: number; digest: string; err: string }> {
  const r = await fx.sh(`python3 -c "${RANDOM_READS}" ${join(fx.mountPoint, name)} ${size}`)
  return { code: r.code, digest: r.stdout.trim(), err: r.stderr }
}

/** What `randomReads` must print for `data`: the same Python over a local copy (the same offsets). */
async function expectedDigest(fx: Fixture, data: Buffer, name: string): Promise<string> {
  const local = join(fx.root, `local-${name}`)
  await writeFile(local, data)
  return (await sh(`python3 -c "${RANDOM_READS}" ${local} ${data.length}`)).stdout.trim()
}

/** Mounts with `--passthrough`; false (and the test skipped) when the kernel does not grant it. */
async function mountPassthrough(t: Test, fx: Fixture, extra: string[] = [], env: Record<string, string> = {}): Promise<boolean> {
  await fx.mount(['--passthrough', '64MiB', ...extra], env)
  const granted = (await stats(fx)).passthrough?.kernel?.granted === true
  if (!granted) t.pass('the kernel does not grant FUSE passthrough here (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH, as root)', { skip: true })
  return granted
}

t.test('a large file read once is read by the kernel from then on: byte-exact, no read reaches the daemon', async t => {
  const fx = await makeFixture(t)
  const big = randomBytes(6 * MiB + 12345)
  const small = randomBytes(1 * MiB + 7)
  await fx.put('big.bin', big)
  await fx.put('small.bin', small)
  if (!(await mountPassthrough(t, fx))) return
  t.equal(await sha256Of(t, fx, 'big.bin'), sha(big), 'cold read through the daemon')
  t.equal(await sha256Of(t, fx, 'small.bin'), sha(small))
  const made = await untilCopies(fx, 1)
  t.equal(made.passthrough?.copies.files, 1, 'a copy of the large file only (the small one is under the minimum)')
  t.equal(made.passthrough?.copies.bytes, big.length)
  const want = await expectedDigest(fx, big, 'big.bin')
  const before = await stats(fx)
  for (let i = 0; i < 2; i++) {
    await dropCaches(fx)
    t.equal(await sha256Of(t, fx, 'big.bin'), sha(big), `warm sequential read ${i + 1}`)
    const random = await randomReads(fx, 'big.bin', big.length)
    t.equal(random.code, 0, random.err)
    t.equal(random.digest, want, `warm random reads ${i + 1}`)
  }
  const after = await stats(fx)
  t.equal(after.fuse?.reads, before.fuse?.reads, 'no read of the large file reached the daemon')
  t.equal((after.passthrough?.kernel?.opens ?? 0) - (before.passthrough?.kernel?.opens ?? 0), 4, 'each open was a passthrough open')
  t.match((await fx.cli(['stats', fx.mountPoint])).stdout, /\npassthrough +\d+ opens read by the kernel .*; copies 6\.0 MiB of 64\.0 MiB in 1 files/)
  // The small file is read through the daemon as before.
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'small.bin'), sha(small))
  t.equal((await stats(fx)).passthrough?.kernel?.opens, after.passthrough?.kernel?.opens)

  // A file brought in by `load` gets its copy without being read: its first open is a passthrough open.
  const loaded = randomBytes(5 * MiB + 3)
  await fx.put('loaded.bin', loaded)
  await fx.cli(['refresh', fx.mountPoint])
  const load = await fx.cli(['load', join(fx.mountPoint, 'loaded.bin'), '--wait'])
  t.equal(load.code, 0, load.stderr)
  await untilCopies(fx, 2)
  const beforeLoaded = await stats(fx)
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'loaded.bin'), sha(loaded), 'a loaded file, read through its copy')
  const afterLoaded = await stats(fx)
  t.equal(afterLoaded.fuse?.reads, beforeLoaded.fuse?.reads, 'no read of it reached the daemon')
  t.equal((afterLoaded.passthrough?.kernel?.opens ?? 0) - (beforeLoaded.passthrough?.kernel?.opens ?? 0), 1)

  // A remount keeps the copies: a first open is a passthrough open.
  await fx.unmount()
  if (!(await mountPassthrough(t, fx))) return
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'big.bin'), sha(big), 'after a remount')
  const remounted = await stats(fx)
  t.equal(remounted.passthrough?.kernel?.opens, 1, 'the copy a previous run made is used')
  t.equal(remounted.fuse?.reads, 0)
})

t.test("concurrent opens keep the kernel's rules: one backing file per inode, never an EIO", async t => {
  const fx = await makeFixture(t)
  const big = randomBytes(5 * MiB)
  await fx.put('big.bin', big)
  if (!(await mountPassthrough(t, fx, [], { S3CACHEFS_TEST_RELEASE_DELAY_MS: '400' }))) return
  const p = join(fx.mountPoint, 'big.bin')
  // A holds the file open in the page-cache mode (no copy yet) while B's read and close make one;
  // C then opens with a copy at hand, and must be answered in A's mode (the kernel refuses mixing).
  // The daemon reads every RELEASE 400 ms late here (S3CACHEFS_TEST_RELEASE_DELAY_MS), as under
  // load: an ordinary open is counted until its RELEASE is read, so d1 waits a second after A's
  // close (opened sooner it would only be an ordinary open); the append right after d1 and d2
  // are closed comes before their RELEASEs are read, and must wait for them, not fail with EBUSY.
  const py = `
import os, sys, time, errno, hashlib
p = sys.argv[1]; out = []
a = os.open(p, os.O_RDONLY); os.pread(a, 4096, 0)
b = os.open(p, os.O_RDONLY); h = hashlib.sha256()
while True:
    d = os.read(b, 1 << 20)
    if not d: break
    h.update(d)
os.close(b); out.append(h.hexdigest())
time.sleep(float(sys.argv[2]))
c = os.open(p, os.O_RDONLY); out.append(str(len(os.pread(c, 1 << 20, 4 << 20)))); os.close(c)
os.close(a)
time.sleep(1)
d1 = os.open(p, os.O_RDONLY); d2 = os.open(p, os.O_RDONLY)
out.append(hashlib.sha256(os.pread(d1, 5 << 20, 0)).hexdigest() == hashlib.sha256(os.pread(d2, 5 << 20, 0)).hexdigest() and 'same' or 'differ')
try:
    w = os.open(p, os.O_WRONLY); out.append('write-open'); os.close(w)
except OSError as e:
    out.append(errno.errorcode[e.errno])
os.close(d1); os.close(d2)
w = os.open(p, os.O_WRONLY | os.O_APPEND); os.write(w, b'tail'); os.close(w); out.append('appended')
print(' '.join(out))
`
  const r = await fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${p} 2`)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout.trim(), `${sha(big)} ${MiB} same EBUSY appended`)
  const s = await stats(fx)
  const k = s.passthrough?.kernel
  t.ok((s.passthrough?.copies.made ?? 0) >= 1, 'the copy was made while A held the file')
  t.ok((k?.cachedFallbacks ?? 0) >= 1, "C had a copy but opened in A's mode")
  t.equal(k?.shared, 1, 'd2 shared d1 backing file')
  t.equal(k?.busy, 1, 'the open for writing while d1 and d2 read through the kernel: EBUSY')
  t.ok((k?.waits ?? 0) >= 2, 'the append waited for the RELEASEs of d1 and d2 (and the open for writing, in vain)')
  await fx.cli(['flush', fx.mountPoint])
  t.equal(await sha256Of(t, fx, 'big.bin'), sha(Buffer.concat([big, Buffer.from('tail')])), 'the append landed')
  let inodes: number | undefined
  for (let i = 0; i < 60 && inodes !== 0; i++) {
    inodes = (await stats(fx)).passthrough?.kernel?.inodes
    if (inodes !== 0) await new Promise(r => setTimeout(r, 100))
  }
  t.equal(inodes, 0, 'every open was counted out at its (late) release')
})

t.test('an overwrite in the bucket is read after the metadata TTL, never the old copy; free removes a copy; the budget bounds them', async t => {
  const fx = await makeFixture(t)
  const v1 = randomBytes(5 * MiB)
  const other = randomBytes(5 * MiB)
  await fx.put('a.bin', v1)
  await fx.put('b.bin', other)
  if (!(await mountPassthrough(t, fx, ['--metadata-ttl', '1s', '--passthrough', '8MiB']))) return
  t.equal(await sha256Of(t, fx, 'a.bin'), sha(v1))
  await untilCopies(fx, 1)
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'a.bin'), sha(v1))
  t.equal((await stats(fx)).passthrough?.kernel?.opens, 1)

  const v2 = randomBytes(5 * MiB)
  await fx.put('a.bin', v2)
  await new Promise(r => setTimeout(r, 1500))
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'a.bin'), sha(v2), 'the new version, through the daemon')
  await untilCopies(fx, 2)
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'a.bin'), sha(v2), 'the new version, through its own copy')
  const s = await stats(fx)
  t.equal(s.passthrough?.kernel?.opens, 2)
  t.equal(s.passthrough?.copies.files, 1, 'an 8 MiB budget keeps one 5 MiB copy')
  t.equal((await readdir(join(fx.cacheDir, 'whole'))).filter(n => n !== 'tmp').length, 1)

  // a.bin held open through the kernel while b.bin's copy pushes a.bin's out of the 8 MiB budget:
  // another open of a.bin (the same version) shares the held one's backing file, no EBUSY.
  const go = join(fx.root, 'go')
  const py = `
import os, sys, time, hashlib
a = os.open(sys.argv[1], os.O_RDONLY); os.pread(a, 4096, 0)
open(sys.argv[2] + '.held', 'w').close()
while not os.path.exists(sys.argv[2]): time.sleep(0.02)
b = os.open(sys.argv[1], os.O_RDONLY); print(hashlib.sha256(os.pread(b, 6 << 20, 0)).hexdigest()); os.close(b); os.close(a)
`
  const holder = fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${join(fx.mountPoint, 'a.bin')} ${go}`)
  for (let i = 0; i < 300 && (await fx.sh(`test -e ${go}.held`)).code !== 0; i++) await new Promise(r => setTimeout(r, 50))
  t.equal(await sha256Of(t, fx, 'b.bin'), sha(other))
  await untilCopies(fx, 3)
  t.equal((await stats(fx)).passthrough?.copies.files, 1, "b.bin's copy took a.bin's place")
  await fx.sh(`touch ${go}`)
  const held = await holder
  t.equal(held.code, 0, held.stderr)
  t.equal(held.stdout.trim(), sha(v2), 'a.bin opened again while held: its bytes, through the shared backing file')
  const shared = (await stats(fx)).passthrough?.kernel
  t.equal(shared?.busy, 0)
  t.equal(shared?.shared, 1)
  // a.bin's release offered its copy again (its blocks are all cached), which pushes b.bin's out.
  await untilCopies(fx, 4)
  const freed = await fx.cli(['free', '--force', fx.mountPoint])
  t.equal(freed.code, 0, freed.stderr)
  await new Promise(r => setTimeout(r, 200))
  t.equal((await stats(fx)).passthrough?.copies.files, 0, 'free took the copies with the blocks')
  t.same(
    (await readdir(join(fx.cacheDir, 'whole'))).filter(n => n !== 'tmp'),
    [],
  )
  await dropCaches(fx)
  t.equal(await sha256Of(t, fx, 'b.bin'), sha(other), 'read again from the bucket')
})

for (const point of ['whole-copy-half-written', 'whole-copy-before-rename']) {
  t.test(`a daemon killed while making a copy (${point}) leaves no copy that is used`, async t => {
    const fx = await makeFixture(t)
    const big = randomBytes(6 * MiB + 1)
    await fx.put('big.bin', big)
    await fx.mount(['--passthrough', '64MiB'], { S3CACHEFS_CRASH_AT: point })
    if ((await stats(fx)).passthrough?.kernel?.granted !== true) {
      t.pass('the kernel does not grant FUSE passthrough here', { skip: true })
      return
    }
    t.equal(await sha256Of(t, fx, 'big.bin'), sha(big))
    // The release offers the copy; the daemon dies making it.
    let alive = true
    for (let i = 0; i < 100 && alive; i++) {
      alive = (await fx.cli(['stats', fx.mountPoint, '--json'])).code === 0
      if (alive) await new Promise(r => setTimeout(r, 100))
    }
    t.notOk(alive, 'the daemon died at the crash point')
    await fx.sh(`grep -q " ${fx.mountPoint} " /proc/mounts && fusermount -uz ${fx.mountPoint}; true`)
    await fx.cli(['unmount', fx.mountPoint, '--force'])
    if (!(await mountPassthrough(t, fx))) return
    t.same(await readdir(join(fx.cacheDir, 'whole', 'tmp')), [], 'the unfinished copy was removed at the start')
    t.equal((await stats(fx)).passthrough?.copies.files, 0)
    await dropCaches(fx)
    t.equal(await sha256Of(t, fx, 'big.bin'), sha(big), 'read through the daemon, from the blocks')
    t.equal((await stats(fx)).passthrough?.kernel?.opens, 0)
  })
}
