/**
 * The write path's races and limits through a real mount, checked in the bucket
 * itself: two appenders of one file, the atomic-save pattern (cp + mv) in async
 * mode, a removed file held open then a killed daemon, 2–4 processes of random
 * operations against a model, and files of 300,000,001 bytes and 2 GiB + 64 KiB (offsets past 2^31).
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import t from 'tap'
import { makeFixture, sh } from './mount-fixture.js'
import { fixturePid, getObject, hashObject, keys, MiB, recover, sha } from './write-helpers.js'

const RANDOM_WRITER = resolve(import.meta.dirname, 'fixtures/random_writer.py')

t.test('sync mode: two processes appending 100 lines each to one existing file lose nothing', async t => {
  const fx = await makeFixture(t)
  await fx.put('log.txt', 'first line\n')
  await fx.mount()
  const m = fx.mountPoint
  const r = await sh(`(for i in $(seq 1 100); do echo "a $i" >> ${m}/log.txt; done) & (for i in $(seq 1 100); do echo "b $i" >> ${m}/log.txt; done) & wait`)
  t.equal(r.code, 0, r.stderr)
  const lines = (await getObject(fx, 'log.txt')).toString().trim().split('\n')
  t.equal(lines.length, 201, '1 + 2 × 100 lines in the bucket')
  t.equal(new Set(lines).size, 201, 'each line once')
  t.equal(lines[0], 'first line')
})

t.test('async mode: cp then mv right after close leaves no ghost; a removed open file stays removed after a kill', async t => {
  const fx = await makeFixture(t)
  const m = fx.mountPoint
  const flags = ['--write-mode', 'async']
  await fx.mount(flags)
  const data = randomBytes(24 * MiB)
  await writeFile(join(fx.root, 'ckpt.bin'), data)

  await t.test('cp big .tmp && mv .tmp final', async t => {
    await fx.server.injectFault({ delayMs: 1500, match: 'PUT', count: 3 }) // the upload is in flight during mv
    const r = await sh(`cp ${fx.root}/ckpt.bin ${m}/.ckpt.tmp && mv ${m}/.ckpt.tmp ${m}/ckpt.bin`)
    t.equal(r.code, 0, r.stderr)
    t.equal((await fx.cli(['flush', m])).code, 0)
    await new Promise(res => setTimeout(res, 1800)) // past any delayed request, had one not been cancelled
    await fx.server.clearFaults()
    t.same(await keys(fx), ['ckpt.bin'], 'only the final name')
    t.equal(sha(await getObject(fx, 'ckpt.bin')), sha(data))
  })

  // A one-request upload (PutObject) cannot be taken back once sent: the store may still
  // commit it after the client gave up. A rename or unlink must wait for it, not race it.
  await t.test('a small file renamed or removed while its PUT is in flight leaves no ghost', async t => {
    await writeFile(join(fx.root, 'small.txt'), 'one\n')
    await fx.server.injectFault({ delayMs: 1500, match: 'putObject', keyPrefix: 'moved.tmp', count: 10 })
    await fx.server.injectFault({ delayMs: 1500, match: 'putObject', keyPrefix: 'gone.txt', count: 10 })
    const puts = async (): Promise<number> => (await fx.requests()).putObject
    /** cp opens and closes once: one upload, which the store holds; `then` runs once it arrived there. */
    const whileInFlight = async (name: string, then: string): Promise<void> => {
      const before = await puts()
      t.equal((await sh(`cp ${fx.root}/small.txt ${m}/${name}`)).code, 0)
      while ((await puts()) === before) await new Promise(res => setTimeout(res, 10))
      const r = await sh(then)
      t.equal(r.code, 0, r.stderr)
      t.equal((await fx.cli(['flush', m])).code, 0)
    }
    await whileInFlight('moved.tmp', `mv ${m}/moved.tmp ${m}/moved.txt`)
    await whileInFlight('gone.txt', `rm ${m}/gone.txt`)
    await new Promise(res => setTimeout(res, 1800)) // past any PUT still running at the store
    await fx.server.clearFaults()
    const names = (await keys(fx)).filter(k => k !== 'ckpt.bin')
    t.same(names, ['moved.txt'], 'neither the old name nor the removed file is in the bucket')
    t.equal((await getObject(fx, 'moved.txt')).toString(), 'one\n')
  })

  await t.test('a closed file a reader holds is removed, then the daemon is killed', async t => {
    await fx.server.injectFault({ status: 500, match: 'PUT', count: 1000 }) // stays staged
    t.equal((await sh(`echo doomed > ${m}/doomed.txt`)).code, 0)
    const holder = spawn('bash', ['-c', `exec 3< ${m}/doomed.txt; sleep 30`], { stdio: 'ignore' })
    await new Promise(res => setTimeout(res, 200))
    t.equal((await sh(`rm ${m}/doomed.txt`)).code, 0)
    await sh(`kill -9 ${await fixturePid(fx)}`)
    holder.kill('SIGKILL')
    await fx.server.clearFaults()
    await recover(fx, flags)
    t.notOk((await keys(fx)).includes('doomed.txt'), 'the deleted file did not come back')
  })
})

// Two runs at once, each on its own fixture (server, bucket, mount): the daemons mostly wait on the store.
t.test('randomized: concurrent processes of random operations; after flush the bucket equals the model', { jobs: 2 }, async t => {
  const seeds = (process.env.S3CACHEFS_RANDOM_SEEDS ?? '1,2').split(',').map(Number)
  for (const mode of ['sync', 'async'] as const) {
    for (const seed of seeds) {
      t.test(`${mode}, seed ${seed}`, async t => {
        const fx = await makeFixture(t)
        await fx.mount(['--write-mode', mode])
        const procs = 2 + (seed % 3)
        const runs = await Promise.all(
          Array.from({ length: procs }, (_, i) =>
            sh(`python3 ${RANDOM_WRITER} ${fx.mountPoint} p${i} ${seed * 100 + i} ${mode === 'sync' ? 40 : 80}`, 300_000),
          ),
        )
        const model: Record<string, string> = {}
        for (const r of runs) {
          t.equal(r.code, 0, r.stderr)
          Object.assign(model, JSON.parse(r.stdout) as Record<string, string>)
        }
        t.equal((await fx.cli(['flush', fx.mountPoint])).code, 0)
        t.same(await keys(fx), Object.keys(model).sort(), `${procs} processes: the same names`)
        for (const [name, digest] of Object.entries(model)) t.equal(sha(await getObject(fx, name)), digest, `${name} byte-exact`)
      })
    }
  }
})

t.test('large files: 300,000,001 bytes and a sparse 2 GiB + 64 KiB file round-trip byte-exact', async t => {
  const fx = await makeFixture(t)
  await fx.mount()
  const m = fx.mountPoint
  // An odd size over many parts; a sparse file whose end lies past 2^31 (offsets beyond a signed 32-bit int).
  const odd = 300_000_001
  const sparse = 2 * 1024 * MiB + 64 * 1024
  // Both written at once (two uploads in the upload lane), then both read back at once.
  const [r, s] = await Promise.all([
    sh(`printf X | dd of=${m}/odd.bin bs=1 seek=${odd - 1} conv=notrunc status=none`, 600_000),
    sh(
      `python3 -c "import os; f = os.open('${m}/sparse.bin', os.O_WRONLY | os.O_CREAT); os.ftruncate(f, ${sparse}); os.pwrite(f, b'END', ${sparse - 3}); os.close(f)"`,
      900_000,
    ),
  ])
  t.equal(r.code, 0, `close succeeded: ${r.stderr}`)
  t.equal(s.code, 0, `close succeeded: ${s.stderr}`)
  const want = createHash('sha256')
    .update(Buffer.alloc(odd - 1))
    .update('X')
    .digest('hex')
  const zeros = Buffer.alloc(64 * MiB)
  const h = createHash('sha256')
  for (let left = sparse - 3; left > 0; left -= zeros.length) h.update(zeros.subarray(0, Math.min(zeros.length, left)))
  const [oddGot, sparseGot] = await Promise.all([hashObject(fx, 'odd.bin'), hashObject(fx, 'sparse.bin')])
  t.same(oddGot, { sha: want, size: odd })
  t.same(sparseGot, { sha: h.update('END').digest('hex'), size: sparse })
  t.equal((await sh(`stat -c %s ${m}/sparse.bin`)).stdout.trim(), String(sparse))
})
