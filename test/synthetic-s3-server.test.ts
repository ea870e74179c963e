/**
 * The synthetic S3 server answers as the real local S3 server does for the same objects:
 * the synthetic namespace's keys and bytes are put into the local server, then both are
 * asked the same questions through the AWS SDK: listings with and without a delimiter,
 * paged; HEAD; ranged and whole GETs; missing keys; If-Match. ETags agree in form and
 * stability only (the synthetic one is not the MD5 of the body: computing it per LIST
 * entry would cost what the store exists to avoid).
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3'
import t from 'tap'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from '../tools/local-s3/local-s3-server.js'
import { startSyntheticS3Server } from '../tools/local-s3/synthetic-s3-server.js'

const BUCKET = 'agree'

const client = (endpoint: string) =>
  new S3Client({ endpoint, region: LOCAL_S3_REGION, forcePathStyle: true, credentials: { ...LOCAL_S3_CREDENTIALS }, maxAttempts: 1 })

async function listAll(s3: S3Client, input: { Prefix?: string; Delimiter?: string; MaxKeys?: number; StartAfter?: string }) {
  const pages: Array<{ keys: Array<[string, number]>; prefixes: string[]; truncated: boolean }> = []
  let token: string | undefined
  do {
    const out: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ...input, ...(token ? { ContinuationToken: token } : {}) }),
    )
    pages.push({
      keys: (out.Contents ?? []).map(c => [c.Key as string, c.Size as number]),
      prefixes: (out.CommonPrefixes ?? []).map(p => p.Prefix as string),
      truncated: out.IsTruncated === true,
    })
    token = out.NextContinuationToken
  } while (token !== undefined)
  return pages
}

/** The same through ListObjects v1 (rclone's and s3fs-fuse's listing): paged by NextMarker, or the last key without a delimiter. */
async function listAllV1(s3: S3Client, input: { Prefix?: string; Delimiter?: string; MaxKeys?: number }) {
  const pages: Array<{ keys: Array<[string, number]>; prefixes: string[]; truncated: boolean }> = []
  let marker: string | undefined
  for (let n = 0; n < 1000; n++) {
    const out = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, ...input, ...(marker !== undefined ? { Marker: marker } : {}) }))
    const keys = (out.Contents ?? []).map((c): [string, number] => [c.Key as string, c.Size as number])
    pages.push({ keys, prefixes: (out.CommonPrefixes ?? []).map(p => p.Prefix as string), truncated: out.IsTruncated === true })
    if (out.IsTruncated !== true) break
    marker = out.NextMarker ?? keys.at(-1)?.[0]
  }
  return pages
}

async function get(s3: S3Client, key: string, range?: string): Promise<{ status: number; body?: Buffer; contentRange?: string }> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }))
    return {
      status: out.$metadata.httpStatusCode ?? 0,
      body: Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
      ...(out.ContentRange ? { contentRange: out.ContentRange } : {}),
    }
  } catch (err) {
    return { status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1 }
  }
}

t.test('synthetic and local servers agree on the same objects', async t => {
  // 47 objects, 6 per directory, sizes 0–3,000 bytes (some 0-byte), two prefixes' worth of layout.
  const synth = await startSyntheticS3Server({ bucket: BUCKET, objects: 47, perDirectory: 6, minBytes: 0, maxBytes: 3000 })
  t.teardown(() => synth.stop())
  const local = await startLocalS3Server({ buckets: [] })
  t.teardown(() => local.stop())
  const a = client(synth.endpoint)
  const b = client(local.endpoint)
  t.teardown(() => {
    a.destroy()
    b.destroy()
  })
  await b.send(new CreateBucketCommand({ Bucket: BUCKET }))
  const ns = synth.namespace
  for (let i = 0; i < ns.objects; i++) await b.send(new PutObjectCommand({ Bucket: BUCKET, Key: ns.key(i), Body: ns.body(i) }))
  t.ok(
    [...Array(ns.objects).keys()].some(i => ns.size(i) < 100),
    'some tiny objects',
  )

  for (const q of [
    { Delimiter: '/' },
    { Prefix: 'train/', Delimiter: '/' },
    { Prefix: 'train/', Delimiter: '/', MaxKeys: 3 },
    { Prefix: 'train/d00002/', Delimiter: '/', MaxKeys: 4 },
    { MaxKeys: 7 },
    { Prefix: 'train/d0000', MaxKeys: 5 },
    { Prefix: 'train/d00001/f', Delimiter: '/' },
    { Prefix: 'nothing/' },
    { StartAfter: ns.key(40) },
  ]) {
    t.same(await listAll(a, q), await listAll(b, q), `listing ${JSON.stringify(q)}`)
  }
  for (const q of [
    { Prefix: 'train/', Delimiter: '/', MaxKeys: 3 },
    { Prefix: 'train/d00002/', Delimiter: '/', MaxKeys: 4 },
    { MaxKeys: 7 },
    { Prefix: 'train/d00001/f', Delimiter: '/' },
  ]) {
    const v1 = await listAllV1(a, q)
    t.same(v1, await listAllV1(b, q), `ListObjects v1 ${JSON.stringify(q)}`)
    t.same(v1, await listAll(a, q), `v1 pages as v2's ${JSON.stringify(q)}`)
  }
  const markerIsPrefix = { Bucket: BUCKET, Prefix: 'train/d00001/', Delimiter: '/', Marker: 'train/d00001/' }
  const [ma, mb] = await Promise.all([a, b].map(s => s.send(new ListObjectsCommand(markerIsPrefix))))
  t.same(
    (ma?.Contents ?? []).map(c => c.Key),
    (mb?.Contents ?? []).map(c => c.Key),
    'a marker equal to the prefix: as the local server',
  )
  // Keys under the prefix sort after it, so S3 lists them all (marker = start after this key).
  t.equal((ma?.Contents ?? []).length, 6, 'a marker equal to the prefix lists the keys under it')

  for (const i of [0, 5, 17, 46]) {
    const [ha, hb] = await Promise.all([a, b].map(s => s.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ns.key(i) }))))
    t.equal(ha?.ContentLength, hb?.ContentLength, `HEAD size of ${ns.key(i)}`)
    // The synthetic store's ETag has a one-part multipart upload's form (not the body's MD5); the local server's, a PUT's (the MD5).
    t.match(ha?.ETag, /^"[0-9a-f]{32}-1"$/, 'synthetic: a one-part multipart ETag')
    t.match(hb?.ETag, /^"[0-9a-f]{32}"$/, 'local server: an MD5 ETag')
  }

  const big = [...Array(ns.objects).keys()].filter(i => ns.size(i) > 1500)[0] as number
  const zero = [...Array(ns.objects).keys()].find(i => ns.size(i) === 0)
  for (const range of [undefined, 'bytes=0-99', 'bytes=100-', 'bytes=-100', 'bytes=0-0', 'bytes=1000-99999', 'bytes=99999-']) {
    const [ga, gb] = await Promise.all([get(a, ns.key(big), range), get(b, ns.key(big), range)])
    t.equal(ga.status, gb.status, `GET ${range ?? 'whole'}: status`)
    t.same(ga.body, gb.body, `GET ${range ?? 'whole'}: bytes`)
    t.equal(ga.contentRange, gb.contentRange, `GET ${range ?? 'whole'}: Content-Range`)
  }
  if (zero !== undefined) {
    t.same(await get(a, ns.key(zero)), await get(b, ns.key(zero)), 'a 0-byte object')
    t.equal((await get(a, ns.key(zero), 'bytes=0-9')).status, 416, 'a range of a 0-byte object is unsatisfiable (as on S3)')
  }
  t.equal((await get(a, 'train/d00000/f99999999.bin')).status, (await get(b, 'train/d00000/f99999999.bin')).status, 'missing key')

  const etag = (await a.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ns.key(3) }))).ETag as string
  t.equal((await a.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ns.key(3) }))).ETag, etag, 'the ETag is stable')
  // Not the body's MD5, so not in the form of one: S3 clients check a plain 32-hex ETag against the bytes.
  t.match(etag, /^"[0-9a-f]{32}-1"$/, 'a one-part multipart ETag')
  const wrong = await a.send(new GetObjectCommand({ Bucket: BUCKET, Key: ns.key(3), IfMatch: '"0000"' })).then(
    () => 200,
    (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
  )
  t.equal(wrong, 412, 'If-Match with another ETag: 412')
})

t.test('a large namespace pages through 1,000 keys at a time and jumps over common prefixes', async t => {
  const synth = await startSyntheticS3Server({ bucket: BUCKET, objects: 1_281_167, perDirectory: 1300, minBytes: 1024, maxBytes: 4096 })
  t.teardown(() => synth.stop())
  const a = client(synth.endpoint)
  t.teardown(() => a.destroy())
  const classes = (await listAll(a, { Prefix: 'train/', Delimiter: '/' })).flatMap(p => p.prefixes)
  t.equal(classes.length, Math.ceil(1_281_167 / 1300), 'one common prefix per directory')
  const last = await listAll(a, { Prefix: classes.at(-1) as string, Delimiter: '/' })
  t.equal(last.flatMap(p => p.keys).length, 1_281_167 % 1300, 'the last directory holds the rest')
  t.equal(last.length, 1)
  const full = await listAll(a, { Prefix: classes[1] as string })
  t.same(
    full.map(p => p.keys.length),
    [1000, 300],
    'pages of 1,000',
  )
})
