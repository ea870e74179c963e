import { existsSync } from 'node:fs'
import t from 'tap'
import { contentTypeAfterRename, contentTypeFor, typeMayChangeOnRename } from '../../src/metadata/content-type.js'

t.test('Content-Type by extension from /etc/mime.types, as s3fs-fuse chooses it', { skip: !existsSync('/etc/mime.types') && 'no /etc/mime.types' }, async t => {
  t.equal(contentTypeFor('a/b/notes.txt'), 'text/plain')
  t.equal(contentTypeFor('IMG.JPEG'), 'image/jpeg', 'case-insensitive')
  t.equal(contentTypeFor('noext'), undefined)
  t.equal(contentTypeFor('.hidden'), undefined)
  t.equal(contentTypeFor('x.unknownext123'), undefined)
})

t.test(
  'a renamed object takes the type of its new name when its type came from its old one',
  { skip: !existsSync('/etc/mime.types') && 'no /etc/mime.types' },
  async t => {
    t.equal(typeMayChangeOnRename('a.txt', 'b.txt'), false, 'same type by name: nothing to read')
    t.equal(typeMayChangeOnRename('a.bin123', 'noext'), false, 'neither name has a type')
    t.equal(typeMayChangeOnRename('a.txt', 'a.txt-copy'), true)
    t.equal(contentTypeAfterRename('d/big.txt', 'd/big.txt-copy', 'text/plain'), 'application/octet-stream', 's3fs test_multipart_copy')
    t.equal(contentTypeAfterRename('notes.txt', 'notes.csv', 'text/plain'), 'text/csv')
    t.equal(contentTypeAfterRename('data', 'data.txt', 'binary/octet-stream'), 'text/plain', "S3's default for a name without a type")
    t.equal(contentTypeAfterRename('data', 'data.txt', undefined), 'text/plain')
    t.equal(contentTypeAfterRename('a.txt', 'a.csv', 'image/png'), undefined, 'a type another client chose stays')
    t.equal(contentTypeAfterRename('a.txt', 'noext', 'text/plain; charset=utf-8'), undefined, 'so does one with parameters the mount never writes')
  },
)
