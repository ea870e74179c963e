import t from 'tap'
import { buildXattrs, parseXattrs, storableName, userMetadataSize } from '../../src/metadata/s3fs-xattrs.js'
import { parseS3fsMetadata, toS3fsMetadata, withAttributes } from '../../src/metadata/s3fs-attributes.js'

// The header s3fs-fuse's own suite writes behind the mount for {"key":"value"}.
const S3FS_KEY_VALUE = '%7B%22key%22%3A%22dmFsdWU%3D%22%7D'

t.test("s3fs's header is read, and written byte for byte as s3fs writes it", async t => {
  t.same(Object.fromEntries([...parseXattrs(S3FS_KEY_VALUE)].map(([k, v]) => [k, v.toString()])), { key: 'value' })
  t.equal(buildXattrs(new Map([['key', Buffer.from('value')]])), S3FS_KEY_VALUE)
})

t.test('names in byte order, binary values, a name with ":" and dots round-trip', async t => {
  const bin = Buffer.from([0, 255, 10, 34, 44, 0x7b])
  const map = new Map([
    ['user.z', Buffer.from('last')],
    ['user.a:b', bin],
    ['security.selinux', Buffer.alloc(0)],
  ])
  const header = buildXattrs(map)
  t.match(header, /^[A-Za-z0-9.\-_~/%]+$/, 'only the characters s3fs leaves unencoded, the rest as %XX')
  const back = parseXattrs(header)
  t.same([...back.keys()], ['security.selinux', 'user.a:b', 'user.z'])
  t.same(back.get('user.a:b'), bin)
  t.same(back.get('security.selinux'), Buffer.alloc(0))
})

t.test('no attributes: an empty header, which withAttributes removes', async t => {
  t.equal(buildXattrs(new Map()), '')
  t.equal(parseXattrs(undefined).size, 0)
  t.equal(parseXattrs('').size, 0)
  t.equal(parseXattrs('%7B%7D').size, 0, "s3fs's '{}'")
  t.same(withAttributes({ xattr: S3FS_KEY_VALUE, other: 'kept' }, { xattr: '' }), { other: 'kept' })
  t.same(withAttributes({ other: 'kept' }, { xattr: S3FS_KEY_VALUE, mode: 33188 }), { other: 'kept', xattr: S3FS_KEY_VALUE, mode: '33188' })
  t.same(toS3fsMetadata({ xattr: '' }), {})
})

t.test("malformed headers hold nothing or only their well-formed pairs (s3fs's reader)", async t => {
  t.equal(parseXattrs('%ZZ').size, 0, 'bad percent-encoding')
  t.equal(parseXattrs('not json').size, 0)
  t.same([...parseXattrs(encodeURIComponent('{"a":"eA==",broken,"b":"eQ=="}')).keys()], ['a', 'b'])
})

t.test('parseS3fsMetadata carries the header as it is', async t => {
  t.equal(parseS3fsMetadata({ xattr: S3FS_KEY_VALUE, mode: '33188' }).xattr, S3FS_KEY_VALUE)
  t.equal(parseS3fsMetadata({ mode: '33188' }).xattr, undefined)
})

t.test('names the format cannot hold, and the size S3 counts', async t => {
  t.ok(storableName('user.key'))
  t.notOk(storableName('user."q"'))
  t.notOk(storableName('a,b'))
  t.notOk(storableName(''))
  t.equal(userMetadataSize({ mode: '33188', xattr: 'abc' }), 4 + 5 + 5 + 3)
})
