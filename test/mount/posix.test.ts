/**
 * POSIX attributes through a real mount, stored as s3fs-fuse stores them: modes, owners
 * and times set with chmod/chown/touch land in the bucket as x-amz-meta-* headers (seen
 * by a plain S3 client) and come back after a remount; objects a plain client wrote with
 * s3fs's headers show those attributes; symlinks both ways; FIFOs; statfs as `df` shows
 * it; directory link counts; 255-byte names; an unchanged file's mtime across metadata TTL expiry;
 * inode numbers across a rename and the kernel forgetting the inode.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { makeFixture, type Fixture } from './mount-fixture.js'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000
const S_IFIFO = 0o010000

async function headers(fx: Fixture, key: string): Promise<Record<string, string>> {
  return (await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key }))).Metadata ?? {}
}

async function body(fx: Fixture, key: string): Promise<string> {
  const out = await fx.s3.send(new GetObjectCommand({ Bucket: fx.bucket, Key: key }))
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).toString()
}

async function putWithHeaders(fx: Fixture, key: string, data: string, meta: Record<string, string>): Promise<void> {
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: key, Body: data, Metadata: meta }))
}

/** `stat -c` of paths inside the mount, from a child process. */
async function stat(fx: Fixture, format: string, ...paths: string[]): Promise<string[]> {
  const r = await fx.sh(`cd ${fx.mountPoint} && stat -c '${format}' ${paths.map(p => `'${p}'`).join(' ')}`)
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout.trim().split('\n')
}

t.test('s3fs-compatible attributes', async t => {
  const fx = await makeFixture(t)
  await putWithHeaders(fx, 'from-s3fs.txt', 'written by s3fs\n', {
    mode: String(S_IFREG | 0o640),
    uid: '123',
    gid: '456',
    mtime: '1600000000',
    ctime: '1600000000',
    atime: '1600000000',
  })
  await putWithHeaders(fx, 'dir-s3fs/', '', { mode: String(S_IFDIR | 0o711), uid: '7', gid: '8', mtime: '1600000000' })
  await putWithHeaders(fx, 'link-s3fs', 'from-s3fs.txt', { mode: String(S_IFLNK | 0o777), uid: '0', gid: '0', mtime: '1600000000' })
  await fx.put('plain.txt', 'no headers\n')
  const t0 = { mtime: '1000000000', atime: '1000000000', ctime: '1000000000' }
  for (const key of ['touch-a.txt', 'touch-m.txt']) await putWithHeaders(fx, key, 'x', t0)
  await putWithHeaders(fx, 'touch-a-dir/', '', { mode: String(S_IFDIR | 0o755), ...t0 })
  // A directory object as old s3fs-fuse versions wrote it: no trailing slash, a directory Content-Type.
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: 'no-slash-dir', Body: '', ContentType: 'application/x-directory' }))
  await fx.mount(['--posix-metadata', 'head', '--metadata-ttl', '2s', '--negative-ttl', '1s'])
  const m = fx.mountPoint

  await t.test('objects a plain client wrote with s3fs headers show those attributes', async t => {
    t.same(await stat(fx, '%f %u %g %Y', 'from-s3fs.txt', 'dir-s3fs'), [
      `${(S_IFREG | 0o640).toString(16)} 123 456 1600000000`,
      `${(S_IFDIR | 0o711).toString(16)} 7 8 1600000000`,
    ])
    t.same(await stat(fx, '%f %u', 'plain.txt'), [`${(S_IFREG | 0o644).toString(16)} 0`], 'no headers: the defaults')
    const r = await fx.sh(`readlink ${m}/link-s3fs && cat ${m}/link-s3fs`)
    t.equal(r.stdout, 'from-s3fs.txt\nwritten by s3fs\n', 'an s3fs symlink is a symlink, and followed')
  })

  await t.test('chmod, chown and touch land in the bucket as s3fs headers', async t => {
    const r = await fx.sh(
      `cd ${m} && echo hi > mine.txt && chmod 0751 mine.txt && chown 42:43 mine.txt && touch -d @1500000000 mine.txt && chmod 0600 plain.txt`,
    )
    t.equal(r.code, 0, r.stderr)
    const h = await headers(fx, 'mine.txt')
    t.same([h.mode, h.uid, h.gid, h.mtime], [String(S_IFREG | 0o751), '42', '43', '1500000000'])
    t.equal((await headers(fx, 'plain.txt')).mode, String(S_IFREG | 0o600), 'an object with no headers gets them')
    t.equal(await body(fx, 'mine.txt'), 'hi\n', 'content untouched by the metadata copy')
    const d = await fx.sh(`cd ${m} && mkdir -m 0700 newdir && chmod 0750 newdir`)
    t.equal(d.code, 0, d.stderr)
    t.equal((await headers(fx, 'newdir/')).mode, String(S_IFDIR | 0o750), 'a directory keeps its mode on its marker')
  })

  await t.test('touch -a and touch -m change one time each (and ctime), in the bucket too', async t => {
    const before = Math.floor(Date.now() / 1000)
    const r = await fx.sh(`cd ${m} && touch -a touch-a.txt touch-a-dir && touch -m touch-m.txt`)
    t.equal(r.code, 0, r.stderr)
    // %X %Y %Z: atime, mtime, ctime
    const [fileA, dirA, fileM] = (await stat(fx, '%X %Y %Z', 'touch-a.txt', 'touch-a-dir', 'touch-m.txt')).map(l => l.split(' ').map(Number))
    for (const [name, [atime, mtime, ctime]] of [
      ['touch-a.txt', fileA ?? []],
      ['touch-a-dir', dirA ?? []],
    ] as const) {
      t.ok((atime ?? 0) >= before && (ctime ?? 0) >= before, `${name}: atime ${atime} and ctime ${ctime} are now`)
      t.equal(mtime, 1_000_000_000, `${name}: mtime kept`)
    }
    const [atime, mtime, ctime] = fileM ?? []
    t.ok((mtime ?? 0) >= before && (ctime ?? 0) >= before, `touch -m: mtime ${mtime} and ctime ${ctime} are now`)
    t.equal(atime, 1_000_000_000, 'touch -m: atime kept')
    for (const [key, kept, changed] of [
      ['touch-a.txt', 'mtime', 'atime'],
      ['touch-a-dir/', 'mtime', 'atime'],
      ['touch-m.txt', 'atime', 'mtime'],
    ] as const) {
      const h = await headers(fx, key)
      t.equal(h[kept], '1000000000', `${key}: ${kept} header kept`)
      t.ok(Number(h[changed]) >= before && Number(h.ctime) >= before, `${key}: ${changed} ${h[changed]} and ctime ${h.ctime} stored`)
    }
  })

  await t.test("a renamed directory's marker keeps its mode, owner and times, to a new name and over an empty directory", async t => {
    const r = await fx.sh(
      `cd ${m} && mkdir -m 0710 rd1 rd2 && chown 42:43 rd1 rd2 && touch -d @1500000000 rd1 rd2 && echo in > rd2/f && mkdir empty && mv rd1 moved && mv -T rd2 empty`,
    )
    t.equal(r.code, 0, r.stderr)
    for (const key of ['moved/', 'empty/']) {
      const h = await headers(fx, key)
      t.same([h.mode, h.uid, h.gid, h.mtime?.split('.')[0]], [String(S_IFDIR | 0o710), '42', '43', '1500000000'], key)
    }
    t.equal(await body(fx, 'empty/f'), 'in\n', 'its content moved with it')
  })

  await t.test('symlinks and FIFOs are stored as s3fs stores them', async t => {
    const r = await fx.sh(`cd ${m} && ln -s mine.txt ln && readlink ln && cat ln && mkfifo -m 0620 fifo && stat -c '%F %a' fifo ln`)
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'mine.txt\nhi\nfifo 620\nsymbolic link 777\n')
    t.equal(await body(fx, 'ln'), 'mine.txt', 'the body is the target')
    t.equal((await headers(fx, 'ln')).mode, String(S_IFLNK | 0o777))
    t.equal((await headers(fx, 'fifo')).mode, String(S_IFIFO | 0o620))
  })

  await t.test('an inode number survives a rename and the kernel forgetting the inode (drop_caches)', async t => {
    // echo 2: dentries and inodes only (no page cache); the kernel sends FORGET for every unused inode of the mount.
    const r = await fx.sh(`cd ${m} && echo i > ino1 && stat -c %i ino1 && mv ino1 ino2 && sync && echo 2 > /proc/sys/vm/drop_caches && stat -c %i ino2`)
    t.equal(r.code, 0, r.stderr)
    const [before, after] = r.stdout.trim().split('\n')
    t.equal(after, before, 'the same st_ino')
  })

  await t.test('directory link counts: 2 + subdirectories', async t => {
    const r = await fx.sh(`cd ${m} && mkdir -p nl/a nl/b nl/c && ls nl > /dev/null && stat -c %h nl nl/a`)
    t.equal(r.stdout, '5\n2\n', r.stderr)
  })

  await t.test('statfs: df shows a large constant capacity', async t => {
    const r = await fx.sh(`df -B1 --output=size,avail ${m} | tail -1 && stat -f -c '%S %b %c %l' ${m}`)
    t.equal(r.code, 0, r.stderr)
    const [size, avail] = (r.stdout.split('\n')[0] ?? '').trim().split(/\s+/).map(Number)
    t.ok((size ?? 0) >= 2 ** 50 && (avail ?? 0) >= 2 ** 50, `df: ${r.stdout}`)
    t.match(r.stdout.split('\n')[1], /^1048576 1073741824 1073741824 255$/)
  })

  await t.test("an old s3fs-fuse directory object ('dir', no slash) is a directory, replaced by a dir/ marker", async t => {
    const r = await fx.sh(
      `cd ${m} && test -d no-slash-dir && chmod 700 no-slash-dir && stat -c %a no-slash-dir && touch no-slash-dir/f && ls no-slash-dir && rm no-slash-dir/f && rmdir no-slash-dir && echo gone`,
    )
    t.equal(r.stdout, '700\nf\ngone\n', r.stderr)
    for (const key of ['no-slash-dir', 'no-slash-dir/']) {
      await t.rejects(fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key })), { name: 'NotFound' }, `${key} is not in the bucket`)
    }
  })

  await t.test('a 255-byte name (NAME_MAX) works for files and directories; 256 bytes is ENAMETOOLONG', async t => {
    const name = 'n'.repeat(255)
    const r = await fx.sh(
      `cd ${fx.mountPoint} && echo long > ${name} && mkdir d${name.slice(1)} && echo in > d${name.slice(1)}/${name} && mv ${name} m${name.slice(1)} && cat m${name.slice(1)} d${name.slice(1)}/${name} && ls | grep -c nnnnnnnnnn`,
    )
    t.equal(r.stdout, 'long\nin\n2\n', r.stderr)
    t.equal(await body(fx, `d${name.slice(1)}/${name}`), 'in\n', 'in the bucket under its real key')
    t.match((await fx.sh(`touch ${fx.mountPoint}/${name}x`)).stderr, /File name too long/)
    t.equal((await fx.sh(`cd ${fx.mountPoint} && rm -r m${name.slice(1)} d${name.slice(1)} && ls | grep -c nnnnnnnnnn`)).stdout, '0\n')
  })

  await t.test("an unchanged file's mtime does not move when the metadata TTL expires", async t => {
    await fx.sh(`echo stable > ${m}/stable.txt`)
    const before = await stat(fx, '%.9Y', 'stable.txt')
    await new Promise(r => setTimeout(r, 3500))
    await fx.sh(`ls -l ${m} > /dev/null`)
    t.same(await stat(fx, '%.9Y', 'stable.txt'), before)
  })

  await t.test('modes, owners and times persist through a remount', async t => {
    await fx.unmount()
    await fx.mount(['--posix-metadata', 'head'])
    t.same(await stat(fx, '%a %u %g %Y', 'mine.txt'), ['751 42 43 1500000000'])
    t.same(await stat(fx, '%a %u %g', 'plain.txt', 'newdir', 'moved', 'empty'), ['600 0 0', '750 0 0', '710 42 43', '710 42 43'])
    const r = await fx.sh(`readlink ${m}/ln && stat -c %F ${m}/fifo`)
    t.equal(r.stdout, 'mine.txt\nfifo\n')
  })
})

t.test('listing mode (the default): no HEAD per listed file', async t => {
  const fx = await makeFixture(t)
  for (let i = 0; i < 50; i++) await putWithHeaders(fx, `d/f${i}`, 'x', { mode: String(S_IFREG | 0o600) })
  await fx.mount()
  await fx.resetRequests()
  const r = await fx.sh(`ls -l ${fx.mountPoint}/d | wc -l`)
  t.equal(r.stdout.trim(), '51')
  const req = await fx.requests()
  t.equal(req.headObject, 0, JSON.stringify(req))
})
