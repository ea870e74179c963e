/**
 * The local S3 server keeps user metadata as S3 does (PUT, multipart, CopyObject with
 * the default COPY directive and with REPLACE, returned by HEAD and GET), which the
 * s3fs-compatible attribute tests rely on, also for keys with segments longer than its files'
 * names may be; and it refuses keys over S3's 1,024 bytes with KeyTooLongError.
 * Needs the build: `npx tsc -p tsconfig.json` (the server runs from dist/).
 */
import t from 'tap'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from '../tools/local-s3/local-s3-server.js'

t.test('user metadata round-trips, with long key segments too; keys over 1,024 bytes are refused', async t => {
  const server = await startLocalS3Server({ buckets: [] })
  const s3 = new S3Client({ endpoint: server.endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS } })
  t.teardown(async () => {
    s3.destroy()
    await server.stop()
  })
  const Bucket = 'metabucket'
  await s3.send(new CreateBucketCommand({ Bucket }))
  const head = async (Key: string) => (await s3.send(new HeadObjectCommand({ Bucket, Key }))).Metadata

  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'hello', Metadata: { mode: '33188', mtime: '1700000000.5' } }))
  t.same(await head('k'), { mode: '33188', mtime: '1700000000.5' }, 'PUT')
  await s3.send(new CopyObjectCommand({ Bucket, Key: 'k', CopySource: `${Bucket}/k`, Metadata: { mode: '33261' }, MetadataDirective: 'REPLACE' }))
  t.same(await head('k'), { mode: '33261' }, 'copy onto itself with REPLACE')
  await s3.send(new CopyObjectCommand({ Bucket, Key: 'k2', CopySource: `${Bucket}/k` }))
  t.same(await head('k2'), { mode: '33261' }, 'copy keeps the metadata by default')
  // A copy with REPLACE over an existing object: its ETag is the new content's (s3rver kept the old one).
  await s3.send(new PutObjectCommand({ Bucket, Key: 'over', Body: 'old content' }))
  const copied = await s3.send(new CopyObjectCommand({ Bucket, Key: 'over', CopySource: `${Bucket}/k`, Metadata: { mode: '1' }, MetadataDirective: 'REPLACE' }))
  const md5OfHello = '"5d41402abc4b2a76b9719d911017c592"'
  t.same(
    [copied.CopyObjectResult?.ETag, (await s3.send(new HeadObjectCommand({ Bucket, Key: 'over' }))).ETag],
    [md5OfHello, md5OfHello],
    'copy with REPLACE over an object',
  )
  t.same(await head('over'), { mode: '1' })
  t.same((await s3.send(new GetObjectCommand({ Bucket, Key: 'k' }))).Metadata, { mode: '33261' }, 'GET')
  const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp', Metadata: { uid: '7' } }))
  const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId: mpu.UploadId, PartNumber: 1, Body: 'x' }))
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId: mpu.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  )
  t.same(await head('mp'), { uid: '7' }, 'multipart')

  const long = `d/${'n'.repeat(250)}`
  await s3.send(new PutObjectCommand({ Bucket, Key: long, Body: 'x', Metadata: { mode: '4480' } }))
  t.same(await head(long), { mode: '4480' }, 'a 250-byte segment')
  await t.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1025), Body: 'x' })), { name: 'KeyTooLongError' })
  t.same(await head('k'), { mode: '33261' }, 'the server is still up')
})
