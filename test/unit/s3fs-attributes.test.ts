import t from 'tap'
import { S_IFLNK, S_IFREG, fileTypeOf, mergeAttributes, parseS3fsMetadata, toS3fsMetadata } from '../../src/metadata/s3fs-attributes.js'

t.test('s3fs headers parse into attributes (decimal mode with type bits, seconds with a fraction)', async t => {
  t.same(parseS3fsMetadata({ mode: '33188', uid: '1000', gid: '100', mtime: '1700000000', atime: '1700000001.500000000', ctime: '1700000002.25' }), {
    mode: 0o100644,
    uid: 1000,
    gid: 100,
    mtimeMs: 1_700_000_000_000,
    atimeMs: 1_700_000_001_500,
    ctimeMs: 1_700_000_002_250,
  })
})

t.test('absent or unparsable fields are left out; none at all is {} (known, nothing stored)', async t => {
  t.same(parseS3fsMetadata({}), {})
  t.same(parseS3fsMetadata({ mode: 'rwx', uid: '-1', mtime: 'yesterday', other: '1' }), {})
  t.same(parseS3fsMetadata({ gid: '99999999999' }), {}, 'beyond 32 bits')
})

t.test('attributes format as s3fs writes them and read back the same', async t => {
  const attrs = { mode: S_IFLNK | 0o777, uid: 0, gid: 0, mtimeMs: 1_700_000_000_123, atimeMs: 1_700_000_000_000, ctimeMs: 5 }
  const meta = toS3fsMetadata(attrs)
  t.same(meta, { mode: '41471', uid: '0', gid: '0', mtime: '1700000000.123000000', atime: '1700000000', ctime: '0.005000000' })
  t.same(parseS3fsMetadata(meta), attrs)
  t.same(toS3fsMetadata({}), {}, 'unknown fields are not written')
})

t.test('file type defaults to regular when the mode carries none (as s3fs reads it)', async t => {
  t.equal(fileTypeOf(0o644), S_IFREG)
  t.equal(fileTypeOf(undefined), S_IFREG)
  t.equal(fileTypeOf(S_IFLNK | 0o777), S_IFLNK)
})

t.test('merge overlays only the fields set', async t => {
  t.same(mergeAttributes({ mode: 1, uid: 2 }, { uid: 3, gid: undefined }), { mode: 1, uid: 3 })
  t.same(mergeAttributes(undefined, { mode: 7 }), { mode: 7 })
})
