/**
 * readdir gives the kernel each entry's type (d_type) from the listing, so `find -type f`,
 * `os.scandir(...).is_dir()`, `os.walk` and ImageFolder's class scan need no LOOKUP per
 * entry: a cold `find` over 100,000 listed files took 10.5 s and 10.3 CPU-s of the daemon
 * with DT_UNKNOWN (one getattr per file), 4.5 s and 4.2 CPU-s with the types. Proven by
 * counting the getattrs the daemon answered (`stats --json`: fuse.getattrs). In head mode
 * (`--posix-metadata head`) a listed file's type is known only once its headers are read
 * (an s3fs symlink is listed like any object), so its d_type stays unknown and `find -type l`
 * still finds it.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { makeFixture, type Fixture } from './mount-fixture.js'
import { S_IFLNK } from '../../src/metadata/s3fs-attributes.js'

const FILES = 300

async function getattrs(fx: Fixture): Promise<number> {
  const s = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { fuse?: { getattrs: number } }
  if (s.fuse === undefined) throw new Error('stats --json has no fuse figures')
  return s.fuse.getattrs
}

async function seed(fx: Fixture): Promise<void> {
  await Promise.all(Array.from({ length: FILES }, (_, i) => fx.put(`d/f${String(i).padStart(4, '0')}.bin`, `file ${i}\n`)))
  await fx.put('d/sub/inner.bin', 'inner\n')
  // A symlink as s3fs-fuse stores it: the target as the body, the symlink mode in a header.
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: 'd/s3fs-link', Body: 'f0000.bin', Metadata: { mode: String(S_IFLNK | 0o777) } }))
}

t.test('listing mode: find -type f and scandir read the types from readdir, with no lookup per entry', async t => {
  const fx = await makeFixture(t)
  await seed(fx)
  await fx.mount()
  const d = `${fx.mountPoint}/d`
  t.equal((await fx.sh(`ln -s f0001.bin ${d}/made-link`)).code, 0, 'a symlink made through the mount')
  t.equal((await fx.sh(`ls ${d} > /dev/null`)).code, 0)
  const before = await getattrs(fx)
  const files = await fx.sh(`find ${d} -type f | wc -l`)
  const used = (await getattrs(fx)) - before
  // The listed s3fs symlink reads as a file in listing mode (its headers are not read): 300 + inner.bin + it.
  t.equal(files.stdout.trim(), String(FILES + 2), 'every file found')
  t.ok(used < 20, `find -type f over ${FILES + 3} entries cost ${used} getattrs (one per file without d_type)`)
  t.equal((await fx.sh(`find ${d} -type l`)).stdout, `${d}/made-link\n`, 'a symlink made through the mount is a symlink in the listing')
  t.equal((await fx.sh(`find ${d} -type d | sort`)).stdout, `${d}\n${d}/sub\n`)
  const py = await fx.sh(
    `python3 -c "import os; e = {x.name: (x.is_dir(follow_symlinks=False), x.is_file(follow_symlinks=False), x.is_symlink()) for x in os.scandir('${d}')}; print(e['sub'], e['f0000.bin'], e['made-link'], len(e))"`,
  )
  t.equal(py.stdout.trim(), `(True, False, False) (False, True, False) (False, False, True) ${FILES + 3}`, 'scandir: the same types')
  const stat = await fx.sh(`stat -c '%F' ${d}/sub ${d}/f0000.bin ${d}/made-link`)
  t.equal(stat.stdout, 'directory\nregular file\nsymbolic link\n', 'd_type agrees with stat')
  t.equal((await fx.sh(`mkfifo ${d}/pipe && find ${d} -type p`)).stdout, `${d}/pipe\n`, 'a FIFO made through the mount')

  // A file still being written, renamed over the symlink: getattr answers from its staged
  // bytes (a regular file), and so must readdir's type (the rename replaces the listed entry,
  // and readdir leaves any name with staged writes to its lookup, DT_UNKNOWN).
  const over = await fx.sh(
    `cd ${d} && exec 3> tmp && echo staged >&3 && mv tmp made-link && find . -name made-link -type l; echo ---; find . -name made-link -type f; stat -c %F made-link; exec 3>&-`,
  )
  t.equal(over.stdout, '---\n./made-link\nregular file\n', 'a staged file renamed over a symlink is a regular file to find and to stat')
})

t.test('head mode: listed files are DT_UNKNOWN until their headers are read, so an s3fs symlink is still found as one', async t => {
  const fx = await makeFixture(t)
  await seed(fx)
  await fx.mount(['--posix-metadata', 'head'])
  const d = `${fx.mountPoint}/d`
  const before = await getattrs(fx)
  const links = await fx.sh(`find ${d} -type l`)
  const used = (await getattrs(fx)) - before
  t.equal(links.stdout, `${d}/s3fs-link\n`, 'the s3fs symlink is a symlink')
  t.ok(used >= FILES, `each listed file was looked up (${used} getattrs for ${FILES + 2} entries)`)
  t.equal((await fx.sh(`find ${d} -type d | sort`)).stdout, `${d}\n${d}/sub\n`, 'directories are known from the listing')
})
