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
