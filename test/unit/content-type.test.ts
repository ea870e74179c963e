import { existsSync } from 'node:fs'
import t from 'tap'
import { contentTypeFor } from '../../src/write/content-type.js'

t.test('Content-Type by extension from /etc/mime.types, as s3fs-fuse chooses it', { skip: !existsSync('/etc/mime.types') && 'no /etc/mime.types' }, async t => {
  t.equal(contentTypeFor('a/b/notes.txt'), 'text/plain')
  t.equal(contentTypeFor('IMG.JPEG'), 'image/jpeg', 'case-insensitive')
  t.equal(contentTypeFor('noext'), undefined)
  t.equal(contentTypeFor('.hidden'), undefined)
  t.equal(contentTypeFor('x.unknownext123'), undefined)
})
