/**
 * Extended attributes through a real mount (`--xattr`), stored as s3fs-fuse stores them
 * (`x-amz-meta-xattr`: URL-encoded `{"name":"base64"}`), checked with a plain S3 client:
 * set, get, list and remove by Python's os.*xattr, an object another client wrote with
 * s3fs's header, a directory, a remount, ERANGE for a short buffer, EOPNOTSUPP without the
 * flag, and the daemon's own permission check (`--allow-other --no-default-permissions`).
 */
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { parseXattrs } from '../../src/metadata/s3fs-xattrs.js'
import { makeFixture, sh, type Fixture } from './mount-fixture.js'

const S3FS_KEY_VALUE = '%7B%22key%22%3A%22dmFsdWU%3D%22%7D' // {"key":"value"}, as s3fs's suite writes it

async function storedXattrs(fx: Fixture, key: string): Promise<Record<string, string>> {
  const meta = (await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key }))).Metadata ?? {}
  return Object.fromEntries([...parseXattrs(meta.xattr)].map(([k, v]) => [k, v.toString()]))
}

/** Runs Python in a child process; prints what `code` prints, or `errno N` when it raises OSError. */
function py(fx: Fixture, code: string): Promise<string> {
  const script = `import os, sys, ctypes\ntry:\n${code
    .split('\n')
    .map(l => `  ${l}`)
    .join('\n')}\nexcept OSError as e:\n  print('errno', e.errno)`
  return fx.sh(`echo ${Buffer.from(script).toString('base64')} | base64 -d | python3 -`).then(r => (r.stdout + r.stderr).trim())
}

t.test('--xattr: set, get, list, remove as s3fs stores them; headers written elsewhere; a directory; a remount', async t => {
  const fx = await makeFixture(t)
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: 'ext.txt', Body: 'ext\n', Metadata: { xattr: S3FS_KEY_VALUE } }))
  await fx.mount(['--xattr'])
  const m = fx.mountPoint
  t.equal((await fx.sh(`echo hi > ${m}/f.txt && mkdir ${m}/d`)).code, 0)
  t.equal(await py(fx, `os.setxattr('${m}/f.txt', 'user.k', b'v1')\nos.setxattr('${m}/f.txt', 'key', b'value')\nprint('ok')`), 'ok')
  t.equal(await py(fx, `print(os.getxattr('${m}/f.txt', 'user.k').decode(), sorted(os.listxattr('${m}/f.txt')))`), "v1 ['key', 'user.k']")
  t.same(await storedXattrs(fx, 'f.txt'), { key: 'value', 'user.k': 'v1' }, 'in the bucket as s3fs stores them')
  t.equal((await fx.sh(`cat ${m}/f.txt`)).stdout, 'hi\n', 'content unchanged')

  t.equal(await py(fx, `print(os.getxattr('${m}/ext.txt', 'key').decode())`), 'value', "s3fs's header written by another client")
  t.equal(await py(fx, `os.removexattr('${m}/ext.txt', 'key')\nprint(os.listxattr('${m}/ext.txt'))`), '[]')
  t.same(await storedXattrs(fx, 'ext.txt'), {}, 'removed from the bucket')
  t.equal(await py(fx, `os.getxattr('${m}/ext.txt', 'key')`), 'errno 61', 'ENODATA')
  t.equal(await py(fx, `os.setxattr('${m}/f.txt', 'user.k', b'x', os.XATTR_CREATE)`), 'errno 17', 'XATTR_CREATE of an existing name: EEXIST')
  t.equal(await py(fx, `os.setxattr('${m}/f.txt', 'user.new', b'x', os.XATTR_REPLACE)`), 'errno 61', 'XATTR_REPLACE of a missing name: ENODATA')
  const short = `libc = ctypes.CDLL(None, use_errno=True)\nbuf = ctypes.create_string_buffer(1)\nn = libc.getxattr(b'${m}/f.txt', b'user.k', buf, 1)\nprint(n, ctypes.get_errno())`
  t.equal(await py(fx, short), '-1 34', 'a buffer too small: ERANGE')
  t.equal(await py(fx, `os.setxattr('${m}/f.txt', 'user.big', b'x' * 3000)`), 'errno 7', "more than S3's 2 KiB of metadata: E2BIG")

  t.equal(await py(fx, `os.setxattr('${m}/d', 'user.dir', b'yes')\nprint(os.getxattr('${m}/d', 'user.dir').decode())`), 'yes')
  t.same(await storedXattrs(fx, 'd/'), { 'user.dir': 'yes' }, "on the directory's marker")

  await fx.unmount()
  await fx.mount(['--xattr'])
  t.equal(await py(fx, `print(os.getxattr('${m}/f.txt', 'user.k').decode(), os.getxattr('${m}/d', 'user.dir').decode())`), 'v1 yes', 'after a remount')
  await fx.unmount()
  await fx.mount()
  t.equal(await py(fx, `os.getxattr('${m}/f.txt', 'user.k')`), 'errno 95', 'without --xattr: EOPNOTSUPP, as before')
})

t.test('--xattr --allow-other --no-default-permissions: another user reads but cannot change attributes of a 0644 file', async t => {
  if ((await sh('command -v setpriv')).code !== 0) {
    t.pass('setpriv (util-linux) is missing', { skip: true })
    return
  }
  const fx = await makeFixture(t)
  await fx.mount(['--xattr', '--allow-other', '--no-default-permissions'])
  const m = fx.mountPoint
  await sh(`chmod 755 ${fx.root}`) // let 'nobody' reach the mount point
  t.equal(await py(fx, `open('${m}/mine.txt', 'w').write('x')\nos.setxattr('${m}/mine.txt', 'user.k', b'v')\nprint('ok')`), 'ok')
  const asNobody = (code: string) => sh(`setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c ${JSON.stringify(code)}`)
  const read = await asNobody(`import os; print(os.getxattr('${m}/mine.txt', 'user.k').decode())`)
  t.equal(read.stdout.trim(), 'v', `reads ${read.stderr}`)
  t.match((await asNobody(`import os; os.setxattr('${m}/mine.txt', 'user.k', b'w')`)).stderr, /Permission denied/, 'cannot set')
  t.match((await asNobody(`import os; os.removexattr('${m}/mine.txt', 'user.k')`)).stderr, /Permission denied/, 'cannot remove')
  t.same(await storedXattrs(fx, 'mine.txt'), { 'user.k': 'v' })
})
