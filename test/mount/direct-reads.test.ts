/**
 * Direct reads: a small file whose one block is on disk is read by the FUSE binding's
 * own threads (vendor/fuse-native/direct-reads.h), never by the event loop. Through a
 * real mount: byte-exact for every size up to one block (one FUSE read, and parts of a
 * block over 128 KiB), releases answered by the binding forgotten by the daemon; a
 * block corrupted or freed while its file is held open is never
 * served (the binding hands the read back and the reader refetches), nor is a damaged
 * chunk read on its own by a random read of part of a block; the block files the binding
 * keeps open between reads are let go when freed or evicted (no descriptor left on a
 * deleted file, never served again); --no-direct-reads turns it off.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { blockHeaderBytes, CHUNK_BYTES } from '../../src/cache/block-file-format.js'
import { daemonPid, type Fixture, makeFixture } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024

interface Stats {
  reads: {
    direct: {
      reads: number
      bytes: number
      fallbacks: number
      blocks: number
      chunkReads: number
      openBlockFiles: number
      blockFileOpens: number
      pageCacheDrops: number
      directBlockWrites: number
    }
    blocksFromStore: number
  }
  fuse?: { reads: number; known?: { opens: number; adopted: number } }
  cache: { indexReady: boolean; corruptBlocks: number }
  openFiles: number
}

async function stats(fx: Fixture): Promise<Stats> {
  return JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as Stats
}

/** Mounts, reads everything once (fills the cache), remounts and waits for the cache index. */
async function warmMount(fx: Fixture, files: Map<string, Buffer>, extra: string[] = []): Promise<void> {
  await Promise.all([...files].map(([k, v]) => fx.put(k, v)))
  await fx.mount(extra)
  const r = await fx.sh(`cat ${fx.mountPoint}/d/* > /dev/null`)
  if (r.code !== 0) throw new Error(r.stderr)
  await fx.unmount()
  await fx.mount(extra)
  for (let i = 0; i < 100 && !(await stats(fx)).cache.indexReady; i++) await new Promise(r => setTimeout(r, 100))
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
}

async function checkAll(t: Test, fx: Fixture, files: Map<string, Buffer>, dir = 'd'): Promise<void> {
  const r = await fx.sh(`cd ${fx.mountPoint}/${dir} && sha256sum *`)
  t.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.equal(lines.length, files.size, 'every file read')
  for (const line of lines) t.equal(line.slice(0, 64), sha(files.get(`${dir}/${line.slice(66)}`) as Buffer), line.slice(66))
}

async function blockFiles(cacheDir: string): Promise<string[]> {
  const out: string[] = []
  for (const sub of await readdir(join(cacheDir, 'blocks'))) {
    for (const f of await readdir(join(cacheDir, 'blocks', sub))) out.push(join(cacheDir, 'blocks', sub, f))
  }
  return out
}

/**
 * Opens every file under d/ in a child process, waits until `go` exists, then reads
 * them all through the descriptors opened before and prints "sha  name" lines.
 */
function holdOpenThenRead(fx: Fixture, go: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const py = `
import hashlib, os, sys, time
d = sys.argv[1]
fs = {n: open(os.path.join(d, n), 'rb') for n in sorted(os.listdir(d))}
open(sys.argv[2] + '.opened', 'w').close()
while not os.path.exists(sys.argv[2]): time.sleep(0.02)
for n, f in fs.items(): print(hashlib.sha256(f.read()).hexdigest() + '  ' + n)
`
  return fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${fx.mountPoint}/d ${go}`)
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await readFile(path).then(
        () => true,
        () => false,
      )
    )
      return
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(`${path} never appeared`)
}

function sizes(): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  // One FUSE read (≤ 128 KiB), parts of one block (> 128 KiB), exactly one block, two and six blocks.
  for (const n of [1, 4095, 4096, 100_000, 131_072, 131_073, 300_000, MiB - 1, MiB, MiB + 1, 5 * MiB + 123]) files.set(`d/f${n}.bin`, randomBytes(n))
  return files
}

t.test('small cached files are read by the FUSE threads, byte-exact', async t => {
  const fx = await makeFixture(t)
  const files = sizes()
  await warmMount(fx, files)
  await checkAll(t, fx, files)
  const s = await stats(fx)
  t.equal(s.reads.blocksFromStore, 0, 'no block from the store')
  // The kernel's requests are up to 1 MiB (libfuse 3, the 1 MiB read-ahead window), smaller while
  // its read-ahead ramps up: each is a whole block file, or the chunks of a part of one. Every
  // block of every file (5 + 4 one-block files, 2 + 6 blocks) is read at least once, by the binding.
  t.ok(s.reads.direct.blocks >= 5, `the binding read ${s.reads.direct.blocks} whole block files`)
  t.ok(
    s.reads.direct.blocks + s.reads.direct.chunkReads >= 17,
    `${s.reads.direct.blocks} whole block files and ${s.reads.direct.chunkReads} parts of blocks: every block of every file`,
  )
  t.ok(s.reads.direct.reads >= files.size, `${s.reads.direct.reads} reads answered by the binding`)
  t.equal(s.fuse?.reads, 0, 'no read reached the event loop')
  t.equal(s.reads.direct.fallbacks, 0, 'none handed back')
  // Random offsets and lengths in the 6-block file by 4 threads on one descriptor, across block boundaries too.
  const big = files.get(`d/f${5 * MiB + 123}.bin`) as Buffer
  const py = `
import os, random, hashlib, sys
from concurrent.futures import ThreadPoolExecutor
f = os.open(sys.argv[1], os.O_RDONLY)
rnd = random.Random(7)
reads = [(rnd.randrange(0, ${big.length}), rnd.choice([1, 4096, 100000, 300000, 2000000])) for _ in range(200)]
def one(r): return '%d %d %s' % (r[0], r[1], hashlib.sha256(os.pread(f, r[1], r[0])).hexdigest())
with ThreadPoolExecutor(4) as pool:
    for line in pool.map(one, reads): print(line)
`
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  const r = await fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${fx.mountPoint}/d/f${big.length}.bin`)
  t.equal(r.code, 0, r.stderr)
  let wrong = 0
  for (const line of r.stdout.trim().split('\n')) {
    const [off, n, digest] = line.split(' ')
    if (sha(big.subarray(Number(off), Number(off) + Number(n))) !== digest) wrong++
  }
  t.equal(wrong, 0, '200 random preads of a 6-block file by 4 threads byte-exact')
  const after = await stats(fx)
  t.ok(
    after.reads.direct.reads > s.reads.direct.reads,
    `the kernel's reads for them answered by the binding (${after.reads.direct.reads - s.reads.direct.reads})`,
  )
  t.equal(after.reads.direct.fallbacks, 0, 'none handed back, across block boundaries too')
  t.ok(after.reads.direct.chunkReads > 0, `random reads of parts of blocks served from just their chunks (${after.reads.direct.chunkReads})`)
  // The binding answered their releases too; the daemon forgets those handles within a second.
  let open = s.openFiles
  for (let i = 0; i < 30 && open > 0; i++) {
    await new Promise(r => setTimeout(r, 100))
    open = (await stats(fx)).openFiles
  }
  t.equal(open, 0, 'no handle left open in the daemon')
})

/**
 * Warms the cache, opens every file in a child process, runs `meanwhile` (which damages
 * the cache under the open descriptors), then has the child read them all: every file
 * must come back byte-exact. Resolves with the fixture for further checks.
 */
async function heldOpenWhile(t: Test, meanwhile: (fx: Fixture) => Promise<void>): Promise<Fixture> {
  const fx = await makeFixture(t)
  const files = sizes()
  await warmMount(fx, files)
  const go = join(fx.root, 'go')
  const reading = holdOpenThenRead(fx, go)
  await waitFor(go + '.opened')
  await meanwhile(fx)
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  await writeFile(go, '')
  const r = await reading
  t.equal(r.code, 0, r.stderr)
  for (const line of r.stdout.trim().split('\n'))
    t.equal(line.slice(0, 64), sha(files.get(`d/${line.slice(66)}`) as Buffer), `${line.slice(66)}: the right bytes`)
  return fx
}

t.test('a block corrupted while its file is held open is never served', async t => {
  const fx = await heldOpenWhile(t, async fx => {
    for (const f of await blockFiles(fx.cacheDir)) {
      const bytes = await readFile(f)
      if (bytes.length <= 17) continue
      bytes[bytes.length - 1]! ^= 0x55
      await writeFile(f, bytes)
    }
  })
  const s = await stats(fx)
  t.ok(s.reads.direct.fallbacks >= 9, `${s.reads.direct.fallbacks} reads handed back by the binding`)
  t.ok(s.cache.corruptBlocks >= 9, `${s.cache.corruptBlocks} corrupt blocks found and dropped`)
  t.ok(s.reads.blocksFromStore >= 9, 'and refetched')
})

t.test('a damaged chunk is never served by a random read of part of its block', async t => {
  const fx = await makeFixture(t)
  const big = randomBytes(5 * MiB + 123)
  const files = new Map([['d/big.bin', big]])
  await warmMount(fx, files)
  // Damage one byte in chunk 3 of block 2; the other chunks of that block stay good.
  const [path] = (await blockFiles(fx.cacheDir)).filter(f => f.endsWith('.2'))
  t.ok(path, 'block 2 is on disk')
  const bytes = await readFile(path as string)
  const at = blockHeaderBytes(MiB) + 3 * CHUNK_BYTES + 10
  bytes[at]! ^= 0x55
  await writeFile(path as string, bytes)
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  const before = await stats(fx)
  // A good chunk of that block (chunk 9), then the damaged one: each a random pread from a fresh descriptor.
  const py = `
import hashlib, os, sys
for off in (2 * ${MiB} + 9 * ${CHUNK_BYTES} + 7, 2 * ${MiB} + 3 * ${CHUNK_BYTES}):
    f = os.open(sys.argv[1], os.O_RDONLY)
    print(off, hashlib.sha256(os.pread(f, 4096, off)).hexdigest())
    os.close(f)
`
  const r = await fx.sh(`python3 -c "${py.replace(/"/g, '\\"')}" ${fx.mountPoint}/d/big.bin`)
  t.equal(r.code, 0, r.stderr)
  for (const line of r.stdout.trim().split('\n')) {
    const [off, digest] = line.split(' ')
    t.equal(digest, sha(big.subarray(Number(off), Number(off) + 4096)), `the right bytes at ${off}`)
  }
  const after = await stats(fx)
  t.ok(after.reads.direct.chunkReads > before.reads.direct.chunkReads, 'the good chunk was served from its chunk alone')
  t.ok(after.reads.direct.fallbacks > before.reads.direct.fallbacks, 'the damaged chunk was handed back')
  t.ok(after.cache.corruptBlocks >= 1, 'found corrupt by the daemon')
  t.ok(after.reads.blocksFromStore >= 1, 'and refetched')
})

t.test('a block freed while its file is held open is refetched, not served', async t => {
  const fx = await heldOpenWhile(t, async fx => {
    const freed = await fx.cli(['free', join(fx.mountPoint, 'd')])
    t.equal(freed.code, 0, freed.stderr)
    await fx.resetRequests()
  })
  const req = await fx.requests()
  t.ok(req.getObject + req.rangedGet >= sizes().size, `refetched (${req.getObject + req.rangedGet} GETs)`)
  const s = await stats(fx)
  t.ok(s.reads.direct.fallbacks >= 9, 'the binding handed the reads back')
  // The files were opened by the binding itself (known-files.h): the daemon took those handles over.
  t.ok((s.fuse?.known?.opens ?? 0) >= sizes().size, `opened by the binding (${s.fuse?.known?.opens})`)
  t.ok((s.fuse?.known?.adopted ?? 0) >= 9, `handles adopted by the daemon (${s.fuse?.known?.adopted})`)
})

/** The daemon's descriptors open on block files, and how many of those files are deleted. */
async function blockFileDescriptors(fx: Fixture): Promise<{ open: number; deleted: number }> {
  const pid = await daemonPid(fx.bucket, fx.mountPoint)
  const r = await fx.sh(`for f in /proc/${pid}/fd/*; do readlink "$f"; done`)
  const links = r.stdout.split('\n').filter(l => l.startsWith(join(fx.cacheDir, 'blocks') + '/'))
  return { open: links.length, deleted: links.filter(l => l.endsWith(' (deleted)')).length }
}

t.test('block files kept open between direct reads are let go when freed or evicted, and never served after', async t => {
  const fx = await makeFixture(t)
  // d/: 8 one-block files the binding reads; e/: 24 MiB more, through a 16 MiB cache (LRU), to evict d's blocks.
  const d = new Map<string, Buffer>()
  for (let i = 0; i < 8; i++) d.set(`d/f${i}.bin`, randomBytes(MiB - 1000 * i))
  const e = new Map<string, Buffer>()
  for (let i = 0; i < 24; i++) e.set(`e/g${i}.bin`, randomBytes(MiB))
  await Promise.all([...e].map(([k, v]) => fx.put(k, v)))
  const flags = ['--cache-size', '16MiB', '--eviction', 'lru', '--memory-cache-size', '4MiB']
  await warmMount(fx, d, flags)
  // Each pass starts with the page cache dropped, so every read reaches the mount.
  const readAll = async (files: Map<string, Buffer>, dir = 'd') => {
    await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
    await checkAll(t, fx, files, dir)
  }

  await readAll(d)
  let s = await stats(fx)
  t.equal(s.reads.direct.fallbacks, 0, 'read by the binding')
  t.ok(s.reads.direct.openBlockFiles >= 8, `the binding keeps their ${s.reads.direct.openBlockFiles} block files open`)
  let fds = await blockFileDescriptors(fx)
  t.ok(fds.open >= 8, `${fds.open} descriptors on block files`)
  const opens = s.reads.direct.blockFileOpens
  await readAll(d)
  s = await stats(fx)
  t.equal(s.reads.direct.blockFileOpens, opens, 'read again through the same descriptors: no block file opened')

  const freed = await fx.cli(['free', join(fx.mountPoint, 'd')])
  t.equal(freed.code, 0, freed.stderr)
  fds = await blockFileDescriptors(fx)
  t.equal(fds.deleted, 0, 'free: no descriptor left on a deleted block file')
  t.equal((await stats(fx)).reads.direct.openBlockFiles, 0, 'free: the binding let go of every one')
  await fx.resetRequests()
  await readAll(d)
  const req = await fx.requests()
  t.ok(req.getObject + req.rangedGet >= d.size, `freed blocks fetched again, not served (${req.getObject + req.rangedGet} GETs)`)
  await readAll(d) // cached again: read by the binding, their files kept open again
  t.ok((await stats(fx)).reads.direct.openBlockFiles >= 8, 'kept open again')

  await readAll(e, 'e')
  fds = await blockFileDescriptors(fx)
  t.equal(fds.deleted, 0, `eviction: no descriptor left on a deleted block file (${fds.open} open)`)
  await fx.resetRequests()
  await readAll(d)
  const again = await fx.requests()
  t.ok(again.getObject + again.rangedGet >= 1, `evicted blocks fetched again, not served (${again.getObject + again.rangedGet} GETs)`)
})

t.test('a block file is kept open from its write on: its first direct read opens nothing', async t => {
  const fx = await makeFixture(t)
  const files = sizes()
  await Promise.all([...files].map(([k, v]) => fx.put(k, v)))
  await fx.mount()
  await checkAll(t, fx, files) // cold: fetched, and every block written to the cache
  let s = await stats(fx)
  for (let i = 0; i < 100 && s.reads.direct.openBlockFiles < 17; i++) {
    await new Promise(r => setTimeout(r, 100))
    s = await stats(fx)
  }
  t.ok(s.reads.direct.openBlockFiles >= 17, `every block written is kept open (${s.reads.direct.openBlockFiles})`)
  // And the pages of its whole 1 MiB blocks are not kept in the page cache (the reader's own page cache holds the data).
  const blocksDir = join(fx.cacheDir, 'blocks')
  const whole = (await fx.sh(`find ${blocksDir} -type f -size +${MiB + blockHeaderBytes(MiB) - 1}c`)).stdout.trim().split('\n').filter(Boolean)
  t.equal(whole.length, 7, 'seven whole blocks (f1048576, f1048577, five of f5243003)')
  // Written past the page cache (O_DIRECT) where the cache's file system takes it, else dropped from it once on disk.
  const direct = (await fx.sh(`stat -f -c %T ${fx.cacheDir}`)).stdout.trim() !== 'tmpfs'
  const settled = (x: Stats): number => (direct ? x.reads.direct.directBlockWrites : x.reads.direct.pageCacheDrops)
  for (let i = 0; i < 100 && settled(s) < whole.length; i++) {
    await new Promise(r => setTimeout(r, 100))
    s = await stats(fx)
  }
  if (direct) t.ok(s.reads.direct.directBlockWrites >= whole.length, `every whole block written past the page cache (${s.reads.direct.directBlockWrites})`)
  else t.ok(s.reads.direct.pageCacheDrops >= whole.length, `every whole block dropped from the page cache once on disk (${s.reads.direct.pageCacheDrops})`)
  // (A block read back from disk by the daemon afterwards is cached again: most must not be.)
  const resident = await fx.sh(`fincore --bytes --noheadings --output RES ${whole.join(' ')}`)
  const sum = (out: string) => out.split('\n').reduce((n, l) => n + (Number(l.trim()) || 0), 0)
  t.ok(sum(resident.stdout) <= (whole.length * MiB) / 2, `${sum(resident.stdout)} of ${whole.length * MiB} bytes of those block files left in the page cache`)
  const before = s.reads.direct
  await fx.sh('sync; echo 3 > /proc/sys/vm/drop_caches')
  await checkAll(t, fx, files)
  const after = (await stats(fx)).reads.direct
  t.ok(after.reads > before.reads, `read by the binding (${after.reads - before.reads} reads)`)
  t.equal(after.fallbacks, 0, 'none handed back')
  t.equal(after.blockFileOpens, before.blockFileOpens, 'no block file opened by those reads')
})

t.test('readers racing free, refetch and eviction: every byte right, no descriptor left on a deleted block file', async t => {
  const fx = await makeFixture(t)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 12; i++) files.set(`d/r${i}.bin`, randomBytes(200_000 + i * 250_000))
  await warmMount(fx, files, ['--cache-size', '24MiB'])
  // Three reader processes, eight passes each over every file, while the cache is freed under them again and again.
  const readers = fx.sh(`cd ${fx.mountPoint}/d && for p in 1 2 3; do (for r in 1 2 3 4 5 6 7 8; do sha256sum *; done) & done; wait`)
  for (let i = 0; i < 8; i++) {
    const freed = await fx.cli(['free', join(fx.mountPoint, 'd')])
    t.equal(freed.code, 0, freed.stderr)
    await fx.sh('echo 3 > /proc/sys/vm/drop_caches')
    await new Promise(r => setTimeout(r, 150))
  }
  const r = await readers
  t.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.equal(lines.length, 3 * 8 * files.size, 'every pass read every file')
  let wrong = 0
  for (const line of lines) if (line.slice(0, 64) !== sha(files.get(`d/${line.slice(66)}`) as Buffer)) wrong++
  t.equal(wrong, 0, `${lines.length} whole-file reads byte-exact`)
  const fds = await blockFileDescriptors(fx)
  t.equal(fds.deleted, 0, `no descriptor left on a deleted block file (${fds.open} open)`)
  const s = await stats(fx)
  t.ok(
    s.reads.direct.reads > 0 && s.reads.blocksFromStore > 0,
    `read by the binding (${s.reads.direct.reads}) and fetched again (${s.reads.blocksFromStore} blocks)`,
  )
})

t.test('--no-direct-reads answers every read on the event loop', async t => {
  const fx = await makeFixture(t)
  const files = sizes()
  await warmMount(fx, files, ['--no-direct-reads'])
  await checkAll(t, fx, files)
  const s = await stats(fx)
  t.equal(s.reads.direct.reads, 0)
  t.equal(s.reads.direct.blocks, 0)
})
