// The dataset generator: files are real JPEGs (SOI ... EOI, decodable by
// jpeg-js) of exactly the planned size, generation is deterministic for a
// seed, and sizes follow the ImageNet-like distribution (bounds, mean).
import t from 'tap'
import jpeg from 'jpeg-js'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { planImages, planMetadata, planShard } from '../../tools/bench/dataset/dataset-plan.js'
import { generateImages, imageRoot } from '../../tools/bench/dataset/generate.js'
import { makeBaseImages, MAX_COM_PAYLOAD_BYTES, padJpeg } from '../../tools/bench/dataset/jpeg-synth.js'
import { IMAGENET_SIZES } from '../../tools/bench/dataset/size-distribution.js'

const params = { seed: 7, imageFiles: 120, shardBytes: 1 << 20, metadataObjects: 250 }

function isJpegFramed(b: Buffer): boolean {
  return b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9
}

t.test('padded files are valid JPEGs of exactly the target size', async (t) => {
  const bases = makeBaseImages(1, 4)
  for (const base of bases) t.ok(isJpegFramed(base), 'base image has SOI and EOI')
  const base = bases[0] as Buffer
  for (const target of [base.length, base.length + 3, base.length + 4, 20_000, 65_537 + base.length + 4, 500_000]) {
    const file = padJpeg(base, target, 1, `f${target}`)
    t.equal(file.length, target - base.length < 4 ? base.length : target, `size for target ${target}`)
    t.ok(isJpegFramed(file), 'SOI ... EOI')
    const decoded = jpeg.decode(file, { useTArray: true, maxMemoryUsageInMB: 64 })
    const plain = jpeg.decode(base, { useTArray: true })
    t.equal(decoded.width, plain.width)
    t.equal(decoded.height, plain.height)
    t.same(Buffer.from(decoded.data), Buffer.from(plain.data), 'decodes to the base image pixels')
  }
  t.ok(MAX_COM_PAYLOAD_BYTES <= 65_533)
})

t.test('COM segments stay within the JPEG segment limit', async (t) => {
  const base = makeBaseImages(2, 1)[0] as Buffer
  const file = padJpeg(base, 300_000, 2, 'x')
  // Walk segments from SOI: every COM segment's length field is <= 65,535.
  let at = 2
  let coms = 0
  while (at < file.length && file[at] === 0xff && file[at + 1] !== 0xda) {
    const marker = file[at + 1]
    const len = file.readUInt16BE(at + 2)
    if (marker === 0xfe) coms++
    t.ok(len <= 65_535)
    at += 2 + len
  }
  t.ok(coms >= 5, `${coms} COM segments`)
})

t.test('generation is deterministic for a seed and differs across seeds', async (t) => {
  const dirA = await mkdtemp(join(tmpdir(), 'bench-ds-'))
  const dirB = await mkdtemp(join(tmpdir(), 'bench-ds-'))
  t.teardown(() => Promise.all([rm(dirA, { recursive: true, force: true }), rm(dirB, { recursive: true, force: true })]))
  const bases = makeBaseImages(params.seed, 8)
  const plan = planImages(params, bases.length)
  t.ok(await generateImages(dirA, plan, params.seed, bases))
  t.ok(await generateImages(dirB, plan, params.seed, makeBaseImages(params.seed, 8)))
  t.notOk(await generateImages(dirA, plan, params.seed, bases), 'a second generation is skipped')
  const cls = plan.classes[0] as string
  const names = (await readdir(join(imageRoot(dirA, plan), cls))).sort()
  t.ok(names.length > 0)
  const seen = new Set<string>()
  for (const name of names) {
    const a = await readFile(join(imageRoot(dirA, plan), cls, name))
    const b = await readFile(join(imageRoot(dirB, plan), cls, name))
    t.ok(a.equals(b), `${name} is identical across runs`)
    t.ok(isJpegFramed(a))
    jpeg.decode(a, { useTArray: true, maxMemoryUsageInMB: 64 })
    seen.add(a.toString('base64'))
  }
  t.equal(seen.size, names.length, 'every file is unique')
  const other = planImages({ ...params, seed: 8 }, bases.length)
  t.notSame(other.files.map((f) => f.bytes), plan.files.map((f) => f.bytes), 'another seed gives other sizes')
  t.same(planImages(params, bases.length), plan, 'plans replay exactly')
})

t.test('sizes follow the ImageNet-like distribution', async (t) => {
  const plan = planImages({ ...params, imageFiles: 20_000 }, 32)
  const sizes = plan.files.map((f) => f.bytes)
  const min = Math.min(...sizes)
  const max = Math.max(...sizes)
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
  t.ok(min >= IMAGENET_SIZES.minBytes, `min ${min}`)
  t.ok(max <= IMAGENET_SIZES.maxBytes, `max ${max}`)
  t.ok(Math.abs(mean - 110_000) <= 0.15 * 110_000, `mean ${Math.round(mean)} within 15 % of 110 KB`)
  const sorted = [...sizes].sort((a, b) => a - b)
  const median = sorted[sorted.length >> 1] as number
  t.ok(median < mean, 'right-skewed like ImageNet (median below mean)')
  t.equal(plan.classes.length, 400, '~50 files per class')
  t.equal(plan.totalBytes, sizes.reduce((a, b) => a + b, 0))
})

t.test('shard and metadata plans', async (t) => {
  const s = planShard({ ...params, shardBytes: 256 << 20 })
  t.equal(s.bytes, 256 << 20)
  t.match(s.bucket, /^[a-z0-9-]{3,63}$/)
  const m = planMetadata(params)
  t.equal(m.files.length, 250)
  t.equal(m.dirs, 3)
  t.equal(new Set(m.files.map((f) => f.path)).size, 250, 'unique paths')
  for (const f of m.files) t.ok(f.bytes >= 16 && f.bytes < 272)
  t.match(planImages(params, 1).bucket, /^[a-z0-9-]{3,63}$/)
})
