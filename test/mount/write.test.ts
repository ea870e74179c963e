/**
 * The write path through a real mount: what is written lands byte-exact in the
 * bucket (read back with an S3 client and through a fresh mount), with POSIX
 * tools users run (cp -r, rsync, tar x, Python, mv), and nothing closed is lost.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { daemonPid, type Fixture, makeFixture, sh } from './mount-fixture.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024

async function getObject(fx: Fixture, key: string): Promise<Buffer> {
  const out = await fx.s3.send(new GetObjectCommand({ Bucket: fx.bucket, Key: key }))
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}

async function keys(fx: Fixture, prefix = ''): Promise<string[]> {
  const out = await fx.s3.send(new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: prefix }))
  return (out.Contents ?? []).map(o => o.Key as string).sort()
}

t.test('sync writes', async t => {
  const fx = await makeFixture(t)
  await fx.put('existing.txt', 'original content\n')
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: 'chosen.txt', Body: 'c', ContentType: 'image/png', Metadata: { foreign: 'keepme' } }))
  await fx.mount()
  const m = fx.mountPoint
  const local = join(fx.root, 'local')
  await sh(`mkdir -p ${local}`)
  const small = randomBytes(5000)
  const large = randomBytes(20 * MiB + 3) // three 8 MiB parts
  await writeFile(join(local, 'small.bin'), small)
  await writeFile(join(local, 'large.bin'), large)

  await t.test('empty, small and multipart files round-trip byte-exact', async t => {
    const r = await sh(`touch ${m}/empty.txt && cp ${local}/small.bin ${m}/small.bin && cp ${local}/large.bin ${m}/large.bin`)
    t.equal(r.code, 0, r.stderr)
    t.equal((await getObject(fx, 'empty.txt')).length, 0)
    t.equal(sha(await getObject(fx, 'small.bin')), sha(small))
    t.equal(sha(await getObject(fx, 'large.bin')), sha(large))
    t.equal((await sh(`sha256sum ${m}/large.bin`)).stdout.slice(0, 64), sha(large), 'read back through the mount')
  })

  await t.test('random-offset writes, append, truncate both ways', async t => {
    const py = `
import os
f = os.open('${m}/random.bin', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(f, b'Z' * 10, 1_000_000)
os.pwrite(f, b'A' * 5, 0)
os.pwrite(f, b'M' * 7, 500_000)
os.close(f)
`
    const r = await sh(`python3 -c "${py}"`)
    t.equal(r.code, 0, r.stderr)
    const expect = Buffer.alloc(1_000_010)
    expect.fill('A', 0, 5)
    expect.fill('M', 500_000, 500_007)
    expect.fill('Z', 1_000_000)
    t.equal(sha(await getObject(fx, 'random.bin')), sha(expect))

    t.equal((await sh(`echo appended >> ${m}/existing.txt && cat ${m}/existing.txt`)).stdout, 'original content\nappended\n')
    t.equal((await getObject(fx, 'existing.txt')).toString(), 'original content\nappended\n')
    await sh(`truncate -s 8 ${m}/existing.txt`)
    t.equal((await getObject(fx, 'existing.txt')).toString(), 'original')
    await sh(`truncate -s 12 ${m}/existing.txt`)
    t.same(await getObject(fx, 'existing.txt'), Buffer.concat([Buffer.from('original'), Buffer.alloc(4)]))
    t.equal((await sh(`stat -c %s ${m}/existing.txt`)).stdout, '12\n')
  })

  await t.test('mkdir, rename of a file and of a directory with children, rmdir', async t => {
    t.equal((await sh(`mkdir ${m}/dir && echo one > ${m}/dir/one.txt && mkdir ${m}/dir/sub && echo two > ${m}/dir/sub/two.txt`)).code, 0)
    t.match((await sh(`mkdir ${m}/dir`)).stderr, /File exists/)
    t.match((await sh(`rmdir ${m}/dir`)).stderr, /Directory not empty/)
    t.equal((await sh(`mv ${m}/small.bin ${m}/dir/moved.bin`)).code, 0)
    t.equal(sha(await getObject(fx, 'dir/moved.bin')), sha(small))
    t.notOk((await keys(fx)).includes('small.bin'), 'source removed')
    const mv = await sh(`mv ${m}/dir ${m}/renamed && find ${m}/renamed -type f | sort`)
    t.equal(mv.code, 0, mv.stderr)
    t.equal(mv.stdout, `${m}/renamed/moved.bin\n${m}/renamed/one.txt\n${m}/renamed/sub/two.txt\n`)
    t.same(
      (await keys(fx, 'renamed/')).filter(k => !k.endsWith('/')),
      ['renamed/moved.bin', 'renamed/one.txt', 'renamed/sub/two.txt'],
    )
    t.same(await keys(fx, 'dir/'), [], 'nothing left under the old name')
    t.equal((await sh(`rm ${m}/renamed/sub/two.txt && rmdir ${m}/renamed/sub && ls ${m}/renamed`)).stdout, 'moved.bin\none.txt\n')
    t.match((await sh(`ln ${m}/renamed/one.txt ${m}/hard`)).stderr, /Operation not supported/, 'hard links: ENOTSUP')
    t.equal(
      (await sh(`ln -s one.txt ${m}/renamed/sym && cat ${m}/renamed/sym`)).stdout,
      (await sh(`cat ${m}/renamed/one.txt`)).stdout,
      'symlinks work (test/mount/posix.test.ts)',
    )
  })

  await t.test("a renamed file takes its new name's Content-Type when its type came from its old name, as with s3fs", async t => {
    const r = await sh(`cd ${m} && echo a > ct.txt && mv ct.txt ct.txt-copy && echo b > notes.txt && mv notes.txt notes.csv && mv chosen.txt chosen.csv`)
    t.equal(r.code, 0, r.stderr)
    const head = (key: string) => fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key }))
    t.equal((await head('ct.txt-copy')).ContentType, 'application/octet-stream', 'no type by name (s3fs test_multipart_copy)')
    t.equal((await head('notes.csv')).ContentType, 'text/csv')
    const chosen = await head('chosen.csv')
    t.same([chosen.ContentType, chosen.Metadata?.foreign], ['image/png', 'keepme'], 'a type another client chose stays, with its headers')
    t.equal((await getObject(fx, 'notes.csv')).toString(), 'b\n', 'content moved')
    // sed -i writes a temporary file without an extension, then renames it over the .txt file.
    const sed = await sh(`cd ${m} && echo BEFORE > edited.txt && sed -i s/BEFORE/AFTER/ edited.txt && cat edited.txt`)
    t.same(
      [sed.code, sed.stdout, sed.stderr],
      [0, 'AFTER\n', ''],
      'a copy with a new type over an existing object reads back (s3fs test_update_chmod_opened_file)',
    )
    t.equal((await head('edited.txt')).ContentType, 'text/plain')
  })

  await t.test('cp -r, rsync, tar x and mv into the mount land byte-exact', async t => {
    const tree = join(fx.root, 'tree')
    const r0 = await sh(
      `mkdir -p ${tree}/a/b && for i in $(seq 1 20); do head -c $((i * 3000)) /dev/urandom > ${tree}/a/f$i; done && head -c 100000 /dev/urandom > ${tree}/a/b/deep && tar -C ${tree} -cf ${fx.root}/tree.tar a`,
    )
    t.equal(r0.code, 0, r0.stderr)
    const want = (await sh(`cd ${tree}/a && find . -type f | sort | xargs sha256sum`)).stdout
    for (const [name, cmd] of [
      ['cp', `cp -r ${tree}/a ${m}/cp`],
      ['rsync', `rsync -a ${tree}/a/ ${m}/rsync/`],
      ['tar', `mkdir ${m}/tar && tar -C ${m}/tar -xf ${fx.root}/tree.tar --strip-components=1`],
      ['mv', `cp -r ${tree}/a ${fx.root}/tomove && mv ${fx.root}/tomove ${m}/mv`],
    ] as const) {
      const r = await sh(cmd)
      t.equal(r.code, 0, `${name}: ${r.stderr}`)
      const got = (await sh(`cd ${m}/${name} && find . -type f | sort | xargs sha256sum`)).stdout
      t.equal(got, want, `${name} through the mount`)
      const inBucket = await keys(fx, `${name}/`)
      t.equal(inBucket.filter(k => !k.endsWith('/')).length, 21, `${name}: 21 objects in the bucket`)
    }
  })

  await t.test('a fresh mount reads everything written', async t => {
    await fx.unmount()
    await sh(`rm -rf ${fx.cacheDir}`)
    await fx.mount()
    t.equal((await sh(`sha256sum ${m}/large.bin`)).stdout.slice(0, 64), sha(large))
    t.equal((await sh(`cat ${m}/renamed/one.txt`)).stdout, 'one\n')
  })

  await t.test('a persistent upload failure gives EIO at close and keeps the data', async t => {
    await fx.server.injectFault({ status: 500, match: 'PUT', count: 1000 })
    // bash ignores close() errors of a redirection; Python reports them, as careful writers do.
    const r = await sh(`python3 -c "f = open('${m}/failing.txt', 'w'); f.write('precious\\n'); f.close()"`)
    t.match(r.stderr, /Input\/output error/)
    t.equal((await sh(`cat ${m}/failing.txt`)).stdout, 'precious\n', 'still readable from staging')
    const blocked = await fx.cli(['unmount', m])
    t.not(blocked.code, 0)
    t.match(blocked.stderr, /not unmounting .* could not be uploaded/)
    await fx.server.clearFaults()
    const f = await fx.cli(['flush', m])
    t.equal(f.code, 0, f.stderr)
    t.match(f.stdout, /uploaded \/failing.txt/)
    t.equal((await getObject(fx, 'failing.txt')).toString(), 'precious\n')
  })

  await t.test('a bucket that refuses writes gives EACCES at close', async t => {
    await fx.server.injectFault({ status: 403, code: 'AccessDenied', match: 'PUT', count: 1000 })
    const r = await sh(`python3 -c "f = open('${m}/denied.txt', 'w'); f.write('x'); f.close()"`)
    t.match(r.stderr, /Permission denied/)
    await fx.server.clearFaults()
    t.equal((await fx.cli(['flush', m])).code, 0, 'uploads once the bucket accepts writes')
    t.equal((await getObject(fx, 'denied.txt')).toString(), 'x')
  })
})

t.test('async writes, flush, and a daemon killed before uploading', async t => {
  const fx = await makeFixture(t)
  const m = fx.mountPoint
  await fx.mount(['--write-mode', 'async'])
  const data = randomBytes(3 * MiB)
  const local = join(fx.root, 'data.bin')
  await writeFile(local, data)

  await t.test('close returns before the upload; reads see the bytes; flush makes them durable', async t => {
    // The upload is held 5 s; a copy of 3 MiB that returned within 3.5 s did not wait for it (wide
    // margins both ways: a loaded CI machine may take a second or two to start and run the cp).
    await fx.server.injectFault({ delayMs: 5000, match: 'PUT', count: 1 })
    const t0 = Date.now()
    t.equal((await sh(`cp ${local} ${m}/async.bin`)).code, 0)
    t.ok(Date.now() - t0 < 3500, `close did not wait for the upload (${Date.now() - t0} ms)`)
    t.equal((await sh(`sha256sum ${m}/async.bin`)).stdout.slice(0, 64), sha(data), 'read-your-writes')
    const f = await fx.cli(['flush', m, join(m, 'async.bin')])
    t.equal(f.code, 0, f.stderr)
    t.equal(sha(await getObject(fx, 'async.bin')), sha(data))
  })

  await t.test('flush and unmount wait for an upload that takes longer than an HTTP idle timeout', async t => {
    // Node's global HTTP agent gives up a silent socket after 5 s: the control requests must not use it.
    for (const command of ['flush', 'unmount']) {
      const key = `slow-${command}`
      await fx.server.injectFault({ delayMs: 7000, match: 'PUT', keyPrefix: key, count: 1 })
      t.equal((await sh(`echo ${key} > ${m}/${key}.txt`)).code, 0)
      const t0 = Date.now()
      const r = await fx.cli([command, m])
      t.equal(r.code, 0, r.stderr)
      t.ok(Date.now() - t0 >= 6500, `${command} waited for the upload (${Date.now() - t0} ms)`)
      t.equal((await getObject(fx, `${key}.txt`)).toString(), `${key}\n`)
    }
    await fx.mount(['--write-mode', 'async'])
  })

  await t.test('SIGKILL with closed, unuploaded files: the next mount uploads them', async t => {
    await fx.server.injectFault({ delayMs: 30_000, match: 'PUT', count: 100 })
    for (let i = 0; i < 3; i++) t.equal((await sh(`echo file-${i} > ${m}/killed-${i}.txt`)).code, 0)
    const pid = await daemonPid(fx.bucket, m)
    await sh(`kill -9 ${pid}`)
    await fx.server.clearFaults()
    t.same(
      (await keys(fx)).filter(k => k.startsWith('killed')),
      [],
      'nothing uploaded before the kill',
    )
    await fx.cli(['unmount', m])
    await fx.mount(['--write-mode', 'async'])
    await fx.cli(['flush', m])
    for (let i = 0; i < 3; i++) t.equal((await getObject(fx, `killed-${i}.txt`)).toString(), `file-${i}\n`)
    const log = await readFile(join(fx.cacheDir, 's3cachefs.log'), 'utf8')
    t.match(log, /uploading a file closed before the previous daemon stopped/)
  })
})

t.test('a full cache disk gives ENOSPC to the writer and leaves the bucket untouched', async t => {
  const fx = await makeFixture(t)
  await fx.put('keep.bin', 'old bytes')
  await fx.resetRequests()
  const tiny = join(fx.root, 'tiny')
  await sh(`mkdir -p ${tiny}`)
  if ((await sh(`mount -t tmpfs -o size=80m tmpfs ${tiny}`)).code !== 0) {
    t.pass('cannot mount a tmpfs here', { skip: true })
    return
  }
  t.teardown(() => sh(`umount -l ${tiny}`))
  const r = await fx.cli(['mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--cache-dir', join(tiny, 'cache')])
  t.equal(r.code, 0, r.stderr)
  t.teardown(() => fx.cli(['unmount', fx.mountPoint, '--force']))
  const w = await sh(`python3 -c "f = open('${fx.mountPoint}/keep.bin', 'wb'); f.write(bytes(120_000_000)); f.close()"`)
  t.match(w.stderr, /No space left on device/)
  t.equal((await getObject(fx, 'keep.bin')).toString(), 'old bytes', 'the object is not replaced by partial data')
  // Parts may have been streamed while the file grew, but no upload was completed: nothing replaced the object.
  t.equal((await fx.requests()).putObject, 0, 'no PUT of the object')
})
