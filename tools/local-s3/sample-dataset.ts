/**
 * A small ImageNet-like sample uploaded to a bucket: `train/<class>/img_<n>.JPEG`,
 * real JPEGs with ImageNet's size distribution (from the benchmark's generator),
 * and optionally one shard. Used by the demo and the eviction benchmark.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { makeBaseImages, padJpeg } from '../bench/dataset/jpeg-synth.js'
import { Prng, seededBytes } from '../bench/dataset/prng.js'
import { drawSize, IMAGENET_SIZES } from '../bench/dataset/size-distribution.js'
import { forEachLimit } from '../../src/util/for-each-limit.js'

export interface SampleSpec {
  readonly bucket: string
  readonly classes: number
  readonly filesPerClass: number
  /** Bytes of `shards/shard-000000.tar`; 0 for none. */
  readonly shardBytes: number
  readonly seed: string
}

/** Uploads with 16 PUTs in flight; returns the number of objects and their bytes. */
export async function uploadSample(s3: S3Client, spec: SampleSpec): Promise<{ files: number; bytes: number }> {
  const bases = makeBaseImages(spec.seed)
  const rng = new Prng(spec.seed)
  const items: Array<{ key: string; body: () => Buffer }> = []
  for (let c = 0; c < spec.classes; c++) {
    for (let i = 0; i < spec.filesPerClass; i++) {
      const key = `train/n${String(c).padStart(8, '0')}/img_${i}.JPEG`
      const size = drawSize(rng, IMAGENET_SIZES)
      const base = bases[(c * spec.filesPerClass + i) % bases.length] as Buffer
      items.push({ key, body: () => padJpeg(base, size, spec.seed, key) })
    }
  }
  if (spec.shardBytes > 0) items.push({ key: 'shards/shard-000000.tar', body: () => seededBytes(spec.seed, 'shard', spec.shardBytes) })
  let bytes = 0
  await forEachLimit(items, 16, async item => {
    const body = item.body()
    bytes += body.length
    await s3.send(new PutObjectCommand({ Bucket: spec.bucket, Key: item.key, Body: body }))
  })
  return { files: items.length, bytes }
}
