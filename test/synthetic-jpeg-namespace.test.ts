/**
 * The synthetic store's JPEG namespace (for the benchmark's loader and PyTorch
 * workloads): every body is a JPEG that decodes, of exactly its listed size, unique
 * per key; keys sort in index order and map back to their index; ranged slices are
 * the body's bytes; ETags are stable. Served by the synthetic server as is.
 */
import jpeg from 'jpeg-js'
import t from 'tap'
import { makeBaseImages } from '../tools/bench/dataset/jpeg-synth.js'
import { SyntheticJpegNamespace } from '../tools/local-s3/synthetic-jpeg-namespace.js'
import { startSyntheticS3Server } from '../tools/local-s3/synthetic-s3-server.js'

const bases = makeBaseImages(3, 8)
const shape = { objects: 400, perDirectory: 50, minBytes: 0, maxBytes: 150_000, seed: 3 }
const ns = new SyntheticJpegNamespace(shape, bases)

t.test('every body decodes, has its listed size, and differs from the others', async t => {
  const seen = new Set<string>()
  let smallest = Infinity
  for (let i = 0; i < ns.objects; i += 7) {
    const body = ns.body(i)
    t.equal(body.length, ns.size(i), `object ${i}: body length = listed size`)
    const img = jpeg.decode(body, { useTArray: true })
    t.ok(img.width > 0 && img.height > 0, `object ${i} decodes (${img.width}×${img.height})`)
    seen.add(body.toString('base64'))
    smallest = Math.min(smallest, body.length - (bases[i % bases.length] as Buffer).length)
  }
  t.equal(seen.size, Math.ceil(ns.objects / 7), 'no two bodies equal')
  t.ok(smallest < 100, 'some objects carry no padding segment (size below the floor)')
})

t.test('padding of 1–3 bytes and of several segments still decodes', async t => {
  for (const extra of [1, 2, 3, 4, 5, 65_537, 65_541, 131_074]) {
    const base = bases[0] as Buffer
    const floor = base.length + 4 + 'train/n00000/img_00000000.JPEG'.length
    const one = new SyntheticJpegNamespace({ objects: 1, perDirectory: 1, minBytes: floor + extra, maxBytes: floor + extra }, [base])
    const body = one.body(0)
    t.equal(body.length, floor + extra)
    t.doesNotThrow(() => jpeg.decode(body, { useTArray: true }), `${extra} bytes of padding`)
  }
})

t.test('keys: ImageFolder layout, index order, indexOf round trip', async t => {
  t.equal(ns.key(0), 'train/n00000/img_00000000.JPEG')
  t.equal(ns.key(51), 'train/n00001/img_00000051.JPEG')
  for (let i = 1; i < ns.objects; i++) t.ok(ns.key(i - 1) < ns.key(i), `key ${i - 1} < key ${i}`)
  for (const i of [0, 49, 50, 399]) t.equal(ns.indexOf(ns.key(i)), i)
  t.equal(ns.indexOf('train/n00000/img_00000400.JPEG'), -1, 'past the end')
  t.equal(ns.indexOf('train/d00000/f00000000.bin'), -1, "the plain namespace's keys are not here")
  const page = ns.list('train/', '/', '', 1000, false)
  t.same(page.prefixes.slice(0, 2), ['train/n00000/', 'train/n00001/'])
})

t.test("ranged slices are the body's bytes; ETags are stable", async t => {
  const again = new SyntheticJpegNamespace(shape, makeBaseImages(3, 8))
  for (const i of [3, 77, 250]) {
    const body = ns.body(i)
    for (const [a, b] of [
      [0, 1],
      [0, 700],
      [5, body.length],
      [body.length - 10, body.length],
      [65_000, 66_000],
    ] as const) {
      const lo = Math.min(a, body.length)
      const hi = Math.min(b, body.length)
      t.same(Buffer.concat(ns.slices(i, lo, hi)), body.subarray(lo, hi), `object ${i} bytes ${lo}-${hi}`)
    }
    t.equal(again.etag(i), ns.etag(i), 'same ETag from a second instance')
    t.same(again.body(i), body, 'same bytes from a second instance')
  }
  t.not(ns.etag(1), ns.etag(2))
})

t.test('the synthetic server serves the JPEG namespace', async t => {
  const server = await startSyntheticS3Server({ bucket: 'img', ...shape, namespace: ns })
  t.teardown(() => server.stop())
  const key = ns.key(123)
  const res = await fetch(`${server.endpoint}/img/${key}`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('etag'), ns.etag(123))
  t.same(Buffer.from(await res.arrayBuffer()), ns.body(123))
  const list = await (await fetch(`${server.endpoint}/img?list-type=2&prefix=train/n00002/&max-keys=3`)).text()
  t.match(list, /<Key>train\/n00002\/img_00000100\.JPEG<\/Key>/)
})
