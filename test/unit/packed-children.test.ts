/**
 * PackedChildren (src/metadata/packed-children.ts) answers exactly as the Map it packs:
 * every entry rebuilt field for field (plain, multipart and odd ETags, directories), absent
 * names absent, iteration order kept, changes through the mount on top, and listings that
 * do not fit the layout refused.
 */
import t from 'tap'
import type { Entry } from '../../src/metadata/entry.js'
import { PackedChildren } from '../../src/metadata/packed-children.js'

const hex = (i: number) => i.toString(16).padStart(32, '0')
function sample(prefix: string): Map<string, Entry> {
  const m = new Map<string, Entry>()
  m.set('a', { kind: 'dir', prefix: `${prefix}a/`, mtimeMs: 5 })
  m.set('b.jpg', { kind: 'file', key: `${prefix}b.jpg`, size: 0, etag: hex(1), mtimeMs: 1_700_000_000_123 })
  m.set('c.bin', { kind: 'file', key: `${prefix}c.bin`, size: 5 * 2 ** 40, etag: `${hex(2)}-10000`, mtimeMs: 0 })
  m.set('d', { kind: 'file', key: `${prefix}d`, size: 3, etag: 'W-not-hex', mtimeMs: 7 })
  m.set('e', { kind: 'dir', prefix: `${prefix}e/`, mtimeMs: 5 })
  m.set('é', { kind: 'file', key: `${prefix}é`, size: 1, etag: hex(255).toUpperCase(), mtimeMs: 2 })
  return m
}

t.test('every entry comes back as packed, in order; absent names are absent', async t => {
  const map = sample('train/x/')
  const packed = PackedChildren.pack('train/x/', map)
  if (packed === undefined) return t.fail('packs')
  t.equal(packed.size, map.size)
  t.same([...packed], [...map])
  for (const [name, e] of map) t.same(packed.get(name), e, name)
  for (const name of ['', 'A', 'b', 'b.jpgx', 'zz', 'ä']) t.equal(packed.get(name), undefined, `absent ${JSON.stringify(name)}`)
  t.equal(packed.dirCount(), 2)
})

t.test('changes through the mount sit on top of the packed children', async t => {
  const map = sample('')
  const packed = PackedChildren.pack('', map) as PackedChildren
  const changed: Entry = { kind: 'file', key: 'b.jpg', size: 9, etag: hex(3), mtimeMs: 3 }
  for (const m of [map, packed]) {
    m.set('b.jpg', changed)
    m.delete('a')
    m.set('new', { kind: 'dir', prefix: 'new/', mtimeMs: 1 })
    m.delete('new-never-there')
    m.set('gone-again', changed)
    m.delete('gone-again')
  }
  t.same([...packed], [...map])
  t.equal(packed.size, map.size)
  t.equal(packed.has('a'), false)
  t.equal(packed.dirCount(), 2, 'e and new')
})

t.test('listings that do not fit the layout are refused', async t => {
  const entry = (key: string): Entry => ({ kind: 'file', key, size: 1, etag: hex(1), mtimeMs: 1 })
  t.equal(
    PackedChildren.pack('', [
      ['b', entry('b')],
      ['a', entry('a')],
    ]),
    undefined,
    'out of order',
  )
  t.equal(PackedChildren.pack('', [['a', entry('other')]]), undefined, 'a key that is not prefix + name')
  t.equal(PackedChildren.pack('', [['\u{1F600}', entry('\u{1F600}')]]), undefined, 'surrogates (UTF-8 and UTF-16 orders differ)')
  t.equal(PackedChildren.pack('', [['a', { ...entry('a'), attrs: { mode: 0o644 } }]]), undefined, 'attributes')
  t.equal(PackedChildren.pack('', [])?.size, 0, 'empty packs')
})
