/**
 * Memory stays bounded by what it says with many files open at once (issue 15: "peak
 * RSS under 512 MiB with 64 processes holding 20 files open each"): 64 processes (forked
 * by one Python script; the test process never reads the mount) each open the same 20
 * objects of 4 MiB, read three 256 KiB ranges of each at offsets of their own (so reads
 * reach the daemon, not only the page cache) and check sampled bytes, then hold all 20
 * open until every process is ready and the daemon's `stats` has counted the 1,280
 * handles. The daemon's RSS is sampled throughout; the peak is asserted by counting.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { DAEMON_MALLOC_ARENA_MAX, DAEMON_V8_FLAGS } from '../../src/config/defaults.js'
import { rssPeak, seededContent } from '../helpers/daemon-memory.js'
import { daemonPid, makeFixture, sh } from './mount-fixture.js'

const MiB = 1024 * 1024
const PROCESSES = 64
const FILES = 20
const FILE_BYTES = 4 * MiB + 1
const RSS_CEILING_BYTES = 512 * MiB

/** argv: root, processes, files, file bytes, release path. Prints one "ready" line per process, exits 1 on a wrong byte. */
const HOLDER = String.raw`
import os, sys, time
root, procs, files, size, release = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def byte_at(seed, i):
    return (((i + seed) * 2654435761) & 0xffffffff) >> 24
def child(n):
    handles = [open(os.path.join(root, 'held', 'f%02d.bin' % f), 'rb', buffering=0) for f in range(files)]
    for f, h in enumerate(handles):
        for r in range(3):
            pos = ((n * 7919 + f * 104729 + r * 1299709) * 4096) % (size - 262144)
            h.seek(pos)
            data = h.read(262144)
            if len(data) != 262144:
                return 1
            for k in range(0, 262144, 16381):
                if data[k] != byte_at(f + 1, pos + k):
                    return 1
    os.write(1, b'ready\n')
    while not os.path.exists(release):
        time.sleep(0.05)
    for h in handles:
        h.close()
    return 0
pids = []
for n in range(procs):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child(n)
        finally:
            os._exit(code)
    pids.append(pid)
bad = sum(1 for p in pids if os.waitpid(p, 0)[1] != 0)
sys.exit(1 if bad else 0)
`

t.test(`${PROCESSES} processes holding ${FILES} files open each: peak RSS under ${RSS_CEILING_BYTES / MiB} MiB, every byte right`, async t => {
  const fx = await makeFixture(t)
  for (let f = 0; f < FILES; f++) await fx.put(`held/f${String(f).padStart(2, '0')}.bin`, seededContent(f + 1, FILE_BYTES))
  await fx.mount()
  const pid = await daemonPid(fx.bucket, fx.mountPoint)
  t.ok(pid, 'daemon found')
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
  t.ok(
    DAEMON_V8_FLAGS.every(f => cmdline.includes(f)),
    `the daemon runs with ${DAEMON_V8_FLAGS.join(' ')}`,
  )
  const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')
  t.ok(environ.includes(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? DAEMON_MALLOC_ARENA_MAX}`), 'and with its glibc arena bound')
  t.equal(
    environ.find(e => e.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length),
    process.env.GLIBC_TUNABLES,
    'and with no glibc tunables but those of its environment (huge pages kept freed buffers resident)',
  )
  const script = join(fx.root, 'holder.py')
  const release = join(fx.root, 'release')
  await writeFile(script, HOLDER)
  await sh('echo 3 > /proc/sys/vm/drop_caches')
  const sampler = rssPeak(pid, 200)
  const holder = spawn('python3', [script, fx.mountPoint, String(PROCESSES), String(FILES), String(FILE_BYTES), release], { stdio: ['ignore', 'pipe', 'pipe'] })
  let ready = 0
  let stderr = ''
  holder.stdout.on(
    'data',
    (d: Buffer) =>
      (ready += String(d)
        .split('\n')
        .filter(l => l === 'ready').length),
  )
  holder.stderr.on('data', (d: Buffer) => (stderr += String(d)))
  const exited = new Promise<number>(r => holder.on('exit', code => r(code ?? -1)))
  const deadline = Date.now() + 240_000
  while (ready < PROCESSES && holder.exitCode === null && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  t.equal(ready, PROCESSES, `all ${PROCESSES} processes read and hold their files`)
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { openFiles: number }
  t.ok(stats.openFiles >= PROCESSES * FILES, `the daemon holds ${stats.openFiles} open handles at once`)
  await writeFile(release, '')
  t.equal(await exited, 0, `every sampled byte right (${stderr.trim() || 'no errors'})`)
  const peak = sampler.stop()
  t.comment(`peak RSS ${(peak / MiB).toFixed(0)} MiB with ${stats.openFiles} handles`)
  t.ok(peak > 0 && peak < RSS_CEILING_BYTES, `peak RSS ${(peak / MiB).toFixed(0)} MiB under ${RSS_CEILING_BYTES / MiB} MiB`)
})
