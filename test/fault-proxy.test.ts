/**
 * The fault-injecting proxy on its own, in front of the local S3 server: it
 * forwards faithfully, and each fault does what it says (the mount-level
 * consequences are in test/mount/fault-proxy.test.ts).
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { OTHER_VERSION_ETAG, corruptBody, startFaultProxy } from '../tools/local-s3/fault-proxy.js'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from '../tools/local-s3/local-s3-server.js'

t.test('fault proxy', async t => {
  const server = await startLocalS3Server({ buckets: [] })
  t.teardown(() => server.stop())
  let n = 0
  const proxy = await startFaultProxy(server.endpoint, () => (n++ * 0.37) % 1)
  t.teardown(() => proxy.stop())
  const s3 = new S3Client({ endpoint: proxy.endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS }, maxAttempts: 1 })
  t.teardown(() => s3.destroy())
  const body = Buffer.from('0123456789'.repeat(1000))
  await s3.send(new CreateBucketCommand({ Bucket: 'bkt' }))
  await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k/obj', Body: body }))
  const get = async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k/obj' }))
    return { etag: r.ETag, data: Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()) }
  }

  t.same((await get()).data, body, 'forwards requests and bodies')
  proxy.arm({ status: 503, match: 'getObject', count: 1 })
  await t.rejects(get(), { name: 'SlowDown' }, 'status with an S3 error body')
  t.same((await get()).data, body, 'count used up')
  proxy.arm({ reset: 'connection', match: 'GET', count: 1 })
  await t.rejects(get(), 'reset before the headers')
  for (const kind of ['reset', 'short'] as const) {
    proxy.arm({ body: kind, match: 'GET', keyPrefix: 'k/', count: 1 })
    await t.rejects(get(), `body ${kind}`)
  }
  const clean = await get()
  proxy.arm({ body: 'corrupt', match: 'GET', keyPrefix: 'k/', count: 1 })
  const corrupt = await get()
  t.equal(corrupt.etag, clean.etag, 'a corrupt body keeps its ETag')
  t.equal(corrupt.data.length, body.length, 'and its length')
  t.same(corrupt.data, corruptBody(body), 'one bit flipped in the middle byte')
  t.notOk(corrupt.data.equals(body), 'so the bytes differ')
  proxy.arm({ otherVersion: true, match: 'GET', count: 1 })
  const other = await get()
  t.equal(other.etag, OTHER_VERSION_ETAG)
  t.equal(other.data.length, body.length)
  t.equal(other.data[0], (body[0] as number) ^ 0xff, 'other bytes')
  proxy.arm({ status: 500, keyPrefix: 'elsewhere/', count: 1 })
  t.same((await get()).data, body, 'a key prefix that does not match is not faulted')
  proxy.clear()
  const before = proxy.stats().faulted
  proxy.arm({ status: 500, match: 'GET', probability: 0.5, count: 1000 })
  let failed = 0
  for (let i = 0; i < 40; i++)
    await get().catch(() => {
      failed++
    })
  t.equal(proxy.stats().faulted - before, failed)
  t.ok(failed > 10 && failed < 30, `about half faulted (${failed} of 40)`)
})
