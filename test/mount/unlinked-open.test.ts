/**
 * A file unlinked while open (Python's tempfile.TemporaryFile, `exec 3>f; rm f`):
 * with hard_remove libfuse gives such a file no path, and our binding passes "" for it,
 * so writes, reads and close through the open descriptor keep working; nothing of it
 * reaches the bucket. fstat(2) of it fails: the kernel's stat names the inode, not the
 * handle, and libfuse's high-level API has no path for a removed node (ENOENT through
 * libfuse 2.9, ESTALE through libfuse 3).
 */
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

t.test('writes and reads through a descriptor whose file was unlinked', async t => {
  const fx = await makeFixture(t)
  await fx.mount()
  const py = `
import os, sys
p = os.path.join(sys.argv[1], 'tmp.bin')
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'a' * 1000)
os.unlink(p)
os.write(fd, b'b' * 200000)
back = os.pread(fd, 200000, 1000)
print(len(back), back == b'b' * 200000, os.path.exists(p))
try:
    os.fstat(fd)
    print('fstat answered')
except OSError as e:
    print('fstat failed', e.errno in (2, 116))
os.close(fd)
print('closed')
`
  const r = await fx.sh(`python3 -c "${py.replace(/"/g, '\\\\"')}" ${fx.mountPoint}`)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '200000 True False\nfstat failed True\nclosed\n', 'written after the unlink, read back, gone by name')
  await fx.cli(['flush', fx.mountPoint])
  const listed = await fx.sh(`ls -A ${fx.mountPoint}`)
  t.equal(listed.stdout, '', 'nothing left under the mount')
  const req = await fx.requests()
  t.equal(req.putObject + req.multipart, 0, 'nothing uploaded')
})

t.test('ftruncate of an unlinked file works through its descriptor and changes nothing else', async t => {
  const fx = await makeFixture(t)
  await fx.put('d/keep.txt', 'keep\n')
  await fx.mount(['--metadata-ttl', '1s'])
  const before = await fx.sh(`stat -c '%a %Y' ${fx.mountPoint} ${fx.mountPoint}/d`)
  // An ftruncate names the handle, so libfuse 3 (unlike 2.9, which answered ENOENT) truncates
  // and then asks fgetattr with no path, given to JS as "". fuse-native answered fgetattr with
  // getattr(path): getattr("") is the root directory, and the kernel, seeing a directory's
  // attributes for a file, failed the ftruncate with EIO. fchmod and futimens name no handle:
  // libfuse answers them itself (ESTALE, no path), as 2.9 did (ENOENT).
  const py = `
import os, sys
p = os.path.join(sys.argv[1], 'd', 'tmp.bin')
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'a' * 5000)
os.unlink(p)
os.ftruncate(fd, 100)
print(len(os.pread(fd, 1000, 0)))
for name, call in (('fchmod', lambda: os.fchmod(fd, 0o600)), ('futimens', lambda: os.utime(fd, (1000000000, 1000000000)))):
    try:
        call(); print(name, 'answered')
    except OSError as e:
        print(name, e.errno in (2, 116))
os.close(fd)
`
  const r = await fx.sh(`python3 -c "${py.replace(/"/g, '\\\\"')}" ${fx.mountPoint}`)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '100\nfchmod True\nfutimens True\n', 'truncated through the descriptor; fchmod and futimens refused by libfuse')
  await new Promise(res => setTimeout(res, 1500)) // the kernel's attributes of the root expire
  const after = await fx.sh(`stat -c '%a %Y' ${fx.mountPoint} ${fx.mountPoint}/d`)
  t.equal(after.stdout.split('\n')[0], before.stdout.split('\n')[0], "the root's mode and mtime are unchanged")
  t.equal((await fx.sh(`ls -A ${fx.mountPoint}/d`)).stdout, 'keep.txt\n', 'the directory holds what it held')
})
