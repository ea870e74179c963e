/**
 * Proves the local S3 server (s3rver + tools/local-s3 fixes) answers like real
 * S3 where s3rver 3.7.1 does not: paged listings with and without delimiter,
 * common prefixes that hold only sub-prefixes, StartAfter, ranges, 0-byte
 * objects, If-Match, aws-chunked uploads; and that its request counters and
 * fault switch work. Talks to it with @aws-sdk/client-s3 only.
 * Needs the build: `npx tsc -p tsconfig.json` (the server runs from dist/).
 */
import t from 'tap'
import { Readable } from 'node:stream'
import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandInput,
  type ListObjectsV2CommandInput,
} from '@aws-sdk/client-s3'
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server, type LocalS3Server } from '../tools/local-s3/local-s3-server.js'

const BUCKET = 'test'
const BULK_KEYS = 2500

// 2,500 keys under bulk/: a quarter `bulk/NNNN/sub/obj` (a prefix holding only a
// sub-prefix), a quarter `bulk/NNNN/obj`, half plain `bulk/NNNN`, interleaved.
function bulkKey(i: number): string {
  const n = String(i).padStart(4, '0')
  if (i % 4 === 0) return `bulk/${n}/sub/obj`
  if (i % 4 === 2) return `bulk/${n}/obj`
  return `bulk/${n}`
}

const BIG = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))
const EDGE_OBJECTS: Record<string, Buffer> = {
  'top.txt': Buffer.from('top'),
  'a-b': Buffer.from('1'),
  'a/b': Buffer.from('2'),
  'a/c/d': Buffer.from('3'),
  a0: Buffer.from('4'),
  'train/cat/0.jpg': Buffer.from('c0'),
  'train/cat/1.jpg': Buffer.from('c1'),
  'train/dog/0.jpg': Buffer.from('d0'),
  'val/x/y/z.bin': Buffer.from('z'),
  'val/x/w.bin': Buffer.from('w'),
  'dirmarker/': Buffer.alloc(0),
  'unicode/é.txt': Buffer.from('e'),
  'unicode/😀.txt': Buffer.from('smile'),
  'unicode/～.txt': Buffer.from('tilde'), // U+FF5E: after é, before 😀 in UTF-8, but after 😀 in UTF-16
  'empty.bin': Buffer.alloc(0),
  'big.bin': BIG,
}
const ALL_KEYS = [...Array.from({ length: BULK_KEYS }, (_, i) => bulkKey(i)), ...Object.keys(EDGE_OBJECTS)]

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

interface Listing {
  keys: string[]
  prefixes: string[]
  /** Keys + common prefixes of each page, in page order. */
  pageSizes: number[]
  /** Entries of all pages in response order (keys and prefixes merged per page in key order). */
  entries: string[]
}

/** What S3 returns: keys under the prefix rolled up at the delimiter, after the marker (RGW/moto semantics). */
function model(opts: { prefix?: string; delimiter?: string; startAfter?: string }): Listing {
  const prefix = opts.prefix ?? ''
  const entries = new Map<string, 'key' | 'prefix'>()
  for (const key of ALL_KEYS) {
    if (!key.startsWith(prefix)) continue
    const at = opts.delimiter ? key.indexOf(opts.delimiter, prefix.length) : -1
    if (at === -1) entries.set(key, 'key')
    else entries.set(key.slice(0, at + (opts.delimiter ?? '').length), 'prefix')
  }
  const sorted = [...entries.keys()].sort(byUtf8).filter(e => !opts.startAfter || byUtf8(e, opts.startAfter) > 0)
  return {
    keys: sorted.filter(e => entries.get(e) === 'key'),
    prefixes: sorted.filter(e => entries.get(e) === 'prefix'),
    pageSizes: [],
    entries: sorted,
  }
}

async function listV2(s3: S3Client, input: Omit<ListObjectsV2CommandInput, 'Bucket'>): Promise<Listing> {
  const out: Listing = { keys: [], prefixes: [], pageSizes: [], entries: [] }
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input, ContinuationToken: token }))
    const keys = (page.Contents ?? []).map(o => o.Key ?? '')
    const prefixes = (page.CommonPrefixes ?? []).map(p => p.Prefix ?? '')
    if (page.KeyCount !== keys.length + prefixes.length) throw new Error(`KeyCount ${page.KeyCount} != ${keys.length}+${prefixes.length}`)
    out.keys.push(...keys)
    out.prefixes.push(...prefixes)
    out.entries.push(...[...keys, ...prefixes].sort(byUtf8))
    out.pageSizes.push(keys.length + prefixes.length)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
    if (page.IsTruncated && token === undefined) throw new Error('truncated page without NextContinuationToken')
    if (out.pageSizes.length > 100) throw new Error('listing does not end')
  } while (token !== undefined)
  return out
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const runners = Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++] as T)
  })
  await Promise.all(runners)
}

async function getBytes(s3: S3Client, input: Omit<GetObjectCommandInput, 'Bucket'>) {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, ...input }))
  const body = Buffer.from((await res.Body?.transformToByteArray()) ?? [])
  return { res, body }
}

function s3Status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
}

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise
    return 200
  } catch (err) {
    return s3Status(err)
  }
}

const server: LocalS3Server = await startLocalS3Server({ buckets: [BUCKET] })
t.teardown(() => server.stop())
const clientConfig = {
  endpoint: server.endpoint,
  region: LOCAL_S3_REGION,
  forcePathStyle: true,
  credentials: LOCAL_S3_CREDENTIALS,
}
// The SDK's default retries keep functional checks immune to a stray socket reset...
const s3 = new S3Client(clientConfig)
// ...but counting and fault tests need every request to be exactly one.
const s3once = new S3Client({ ...clientConfig, maxAttempts: 1 })
t.teardown(() => {
  s3.destroy()
  s3once.destroy()
})

await pool(ALL_KEYS, 32, async key => {
  const body = EDGE_OBJECTS[key] ?? Buffer.from(key)
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
})

t.test('ListObjectsV2 pages 2,500+ keys without a delimiter', async t => {
  const listing = await listV2(s3, {})
  t.same(listing.keys, model({}).keys, 'every key once, in UTF-8 byte order')
  t.same(listing.pageSizes, [1000, 1000, ALL_KEYS.length - 2000])
  const small = await listV2(s3, { Prefix: 'bulk/', MaxKeys: 700 })
  t.same(small.keys, model({ prefix: 'bulk/' }).keys)
  t.same(small.pageSizes, [700, 700, 700, 400])
})

t.test('ListObjectsV2 pages 2,500 keys + common prefixes with a delimiter', async t => {
  const listing = await listV2(s3, { Prefix: 'bulk/', Delimiter: '/' })
  const expected = model({ prefix: 'bulk/', delimiter: '/' })
  t.equal(expected.keys.length, 1250)
  t.equal(expected.prefixes.length, 1250)
  t.same(listing.keys, expected.keys)
  t.same(listing.prefixes, expected.prefixes, 'bulk/NNNN/ present also when it holds only sub/')
  t.same(listing.pageSizes, [1000, 1000, 500], 'MaxKeys counts keys and common prefixes together')
  t.same(listing.entries, expected.entries, 'pages are consecutive in key order')
})

t.test('common prefixes holding only sub-prefixes, at the root and under a prefix', async t => {
  const root = await listV2(s3, { Delimiter: '/' })
  t.same(root.prefixes, ['a/', 'bulk/', 'dirmarker/', 'train/', 'unicode/', 'val/'])
  t.same(root.keys, ['a-b', 'a0', 'big.bin', 'empty.bin', 'top.txt'])
  const cases: Array<[string, string[], string[]]> = [
    ['train/', [], ['train/cat/', 'train/dog/']],
    ['val/', [], ['val/x/']],
    ['val/x/', ['val/x/w.bin'], ['val/x/y/']],
    ['tr', [], ['train/']],
    ['a', ['a-b', 'a0'], ['a/']],
    ['a/', ['a/b'], ['a/c/']],
    ['dirmarker/', ['dirmarker/'], []],
    ['unicode/', ['unicode/é.txt', 'unicode/～.txt', 'unicode/😀.txt'], []],
    ['nothing/', [], []],
  ]
  for (const [prefix, keys, prefixes] of cases) {
    const listing = await listV2(s3, { Prefix: prefix, Delimiter: '/' })
    t.same({ keys: listing.keys, prefixes: listing.prefixes }, { keys, prefixes }, `prefix ${prefix}`)
  }
})

t.test('small pages mix keys and common prefixes, including pages of prefixes only', async t => {
  for (const [prefix, maxKeys] of [
    ['', 2],
    ['', 1],
    ['train/', 1],
    ['a', 1],
  ] as const) {
    const listing = await listV2(s3, { Prefix: prefix, Delimiter: '/', MaxKeys: maxKeys })
    t.same(listing.entries, model({ prefix, delimiter: '/' }).entries, `prefix '${prefix}' MaxKeys ${maxKeys}`)
    t.ok(listing.pageSizes.every(n => n === maxKeys || n === listing.pageSizes.at(-1)))
  }
})

t.test('StartAfter', async t => {
  const plain = await listV2(s3, { Prefix: 'bulk/', StartAfter: 'bulk/1000' })
  t.equal(plain.keys[0], 'bulk/1000/sub/obj')
  t.same(plain.keys, model({ prefix: 'bulk/', startAfter: 'bulk/1000' }).keys)
  const cases: Array<[string, string]> = [
    ['train', '/'],
    ['train/', '/'],
    ['train/cat/0.jpg', '/'],
    ['a-b', '/'],
    ['bulk/2000/obj', '/'],
  ]
  for (const [startAfter, delimiter] of cases) {
    const listing = await listV2(s3, { Delimiter: delimiter, StartAfter: startAfter, MaxKeys: 3 })
    t.same(listing.entries, model({ delimiter, startAfter }).entries, `StartAfter ${startAfter}`)
  }
  const after = await listV2(s3, { Delimiter: '/', StartAfter: 'train' })
  t.ok(after.prefixes.includes('train/'), 'a StartAfter before a common prefix keeps it')
  const inside = await listV2(s3, { Delimiter: '/', StartAfter: 'train/cat/0.jpg' })
  t.notOk(inside.prefixes.includes('train/'), 'a StartAfter inside a common prefix skips it, as RGW does')
})

t.test('ListObjects (v1) follows NextMarker with a delimiter', async t => {
  const seen: string[] = []
  let marker: string | undefined
  for (let pages = 0; pages < 50; pages++) {
    const page = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 2, Marker: marker }))
    seen.push(...[...(page.Contents ?? []).map(o => o.Key ?? ''), ...(page.CommonPrefixes ?? []).map(p => p.Prefix ?? '')].sort(byUtf8))
    if (!page.IsTruncated) break
    marker = page.NextMarker
    t.ok(marker, 'NextMarker on a truncated delimiter page')
  }
  t.same(seen, model({ delimiter: '/' }).entries)
})

t.test('ranges as S3 serves them', async t => {
  const cases: Array<[string, number, number]> = [
    ['bytes=-100', 900, 999],
    ['bytes=0-0', 0, 0],
    ['bytes=990-', 990, 999],
    ['bytes=995-2000', 995, 999],
    ['bytes=-5000', 0, 999],
    ['bytes=10-19', 10, 19],
    ['bytes=999-999', 999, 999],
  ]
  for (const [range, start, end] of cases) {
    const { res, body } = await getBytes(s3, { Key: 'big.bin', Range: range })
    t.equal(res.$metadata.httpStatusCode, 206, range)
    t.equal(res.ContentRange, `bytes ${start}-${end}/1000`, `${range} Content-Range`)
    t.equal(res.ContentLength, end - start + 1, `${range} Content-Length`)
    t.same(body, BIG.subarray(start, end + 1), `${range} bytes`)
  }
  const whole = await getBytes(s3, { Key: 'big.bin' })
  t.equal(whole.res.$metadata.httpStatusCode, 200)
  t.same(whole.body, BIG)
  const ignored = await getBytes(s3, { Key: 'big.bin', Range: 'bytes=5-2' })
  t.equal(ignored.res.$metadata.httpStatusCode, 200, 'an invalid range is ignored')
  t.equal(ignored.body.length, 1000)
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Range: 'bytes=-10' }))
  t.equal(head.ContentLength, 10)
  t.equal(head.ContentRange, 'bytes 990-999/1000')
})

t.test('416 past the end and on 0-byte objects', async t => {
  for (const range of ['bytes=1000-', 'bytes=1000-1005', 'bytes=-0']) {
    const err = await getBytes(s3, { Key: 'big.bin', Range: range }).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.equal(s3Status(err), 416, range)
    t.equal((err as Error).name, 'InvalidRange', `${range} code`)
  }
  for (const range of ['bytes=0-0', 'bytes=-1', 'bytes=0-']) {
    t.equal(await statusOf(getBytes(s3, { Key: 'empty.bin', Range: range })), 416, `0-byte object, ${range}`)
  }
  const empty = await getBytes(s3, { Key: 'empty.bin' })
  t.equal(empty.res.$metadata.httpStatusCode, 200)
  t.equal(empty.res.ContentLength, 0)
  t.equal(empty.body.length, 0)
})

t.test('If-Match and If-None-Match on GET and HEAD', async t => {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }))
  const etag = head.ETag ?? ''
  t.match(etag, /^"[0-9a-f]{32}"$/)
  const wrong = '"00000000000000000000000000000000"'
  const get = (input: Omit<GetObjectCommandInput, 'Bucket' | 'Key'>) => statusOf(getBytes(s3, { Key: 'big.bin', ...input }))
  const headWith = (input: { IfMatch?: string; IfNoneMatch?: string }) => statusOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin', ...input })))
  t.equal(await get({ IfMatch: wrong }), 412, 'GET If-Match other ETag')
  t.equal(await get({ IfMatch: etag }), 200, 'GET If-Match same ETag')
  t.equal(await get({ IfMatch: etag.replace(/"/g, '') }), 200, 'GET If-Match unquoted ETag')
  t.equal(await get({ IfMatch: wrong, Range: 'bytes=0-0' }), 412, '412 before the range')
  t.equal(await get({ IfNoneMatch: etag }), 304, 'GET If-None-Match same ETag')
  t.equal(await get({ IfNoneMatch: wrong }), 200)
  t.equal(await get({ IfUnmodifiedSince: new Date(Date.now() - 86_400_000) }), 412)
  t.equal(await get({ IfModifiedSince: new Date(Date.now() + 86_400_000) }), 304)
  t.equal(await get({ IfMatch: etag, IfUnmodifiedSince: new Date(0) }), 200, 'If-Match wins over If-Unmodified-Since')
  t.equal(await headWith({ IfMatch: wrong }), 412, 'HEAD If-Match other ETag')
  t.equal(await headWith({ IfMatch: etag }), 200)
  t.equal(await headWith({ IfNoneMatch: etag }), 304)
  const err = await getBytes(s3, { Key: 'big.bin', IfMatch: wrong }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.equal((err as Error).name, 'PreconditionFailed')
  t.equal(await statusOf(getBytes(s3, { Key: 'no/such/key' })), 404)
  t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'no/such/key' }))), 404)
})

t.test('a streamed (aws-chunked) upload is stored decoded', async t => {
  const data = Buffer.from('streamed body '.repeat(5000))
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'chunked/stream.bin',
      Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
      ContentLength: data.length,
    }),
  )
  const { res, body } = await getBytes(s3, { Key: 'chunked/stream.bin' })
  t.equal(res.ContentLength, data.length)
  t.ok(body.equals(data), 'same bytes back')
  t.equal(res.ContentEncoding, undefined, 'aws-chunked is not kept as Content-Encoding')
})

t.test('CopyObject with a fully encoded source, AbortMultipartUpload', async t => {
  const key = 'odd keys/a+b=c&d?e#f%g é.txt'
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'odd' }))
  for (const [i, source] of [encodeURIComponent(`${BUCKET}/${key}`), `${BUCKET}/${encodeURIComponent(key)}`].entries()) {
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: `odd copies/${i}`, CopySource: source }))
    t.equal((await getBytes(s3, { Key: `odd copies/${i}` })).body.toString(), 'odd', `copy source ${source}`)
  }
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted' }))
  await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: upload.UploadId, PartNumber: 1, Body: 'x' }))
  const abort = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: upload.UploadId }))
  t.equal(abort.$metadata.httpStatusCode, 204)
  const again = s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: upload.UploadId }))
  t.equal(await statusOf(again), 404, 'NoSuchUpload once aborted')
})

t.test('key segments longer than the local disk takes (NAME_MAX 255) are stored, read, listed, copied and deleted', async t => {
  const dir = `long/${'d'.repeat(300)}/`
  const keys = [`long/${'a'.repeat(255)}`, `long/${'é'.repeat(200)}`, `${dir}child`, `${dir}${'e'.repeat(250)}`, 'long/short'].sort(compareBytes)
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }))
  for (const Key of keys) t.equal((await getBytes(s3, { Key })).body.toString(), Key, `GET ${Key.slice(0, 12)}…${Buffer.byteLength(Key)} bytes`)
  const all = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'long/' }))
  t.same(
    all.Contents?.map(o => o.Key),
    keys,
    'listed in byte order, with their real names',
  )
  const top = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'long/', Delimiter: '/' }))
  t.same(
    top.CommonPrefixes?.map(p => p.Prefix),
    [dir],
    'a long directory segment is a common prefix',
  )
  t.equal(top.Contents?.length, 3)
  const copy = `long/${'c'.repeat(255)}`
  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: copy, CopySource: `${BUCKET}/${encodeURIComponent(keys[0] ?? '')}` }))
  t.equal((await getBytes(s3, { Key: copy })).body.toString(), keys[0], 'CopyObject to a long key')
  for (const Key of [...keys, copy]) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }))
  t.same((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'long/' }))).KeyCount, 0, 'all deleted')
  t.notOk(existsSync(`${server.directory}/${BUCKET}/long`), 'nothing left in the store, sidecars included')
  t.equal(await statusOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k'.repeat(1025), Body: 'x' }))), 400, "over S3's 1,024-byte key limit")
})

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

t.test("a multipart object has S3's ETag: MD5 of the part MD5s, then -N (s3rver answers the content MD5)", async t => {
  const texts = ['first part, ', 'second part, ', 'third']
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/three' }))
  const parts = []
  for (const [i, text] of texts.entries()) {
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/three', UploadId: upload.UploadId, PartNumber: i + 1, Body: text }))
    parts.push({ PartNumber: i + 1, ETag: part.ETag })
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/three', UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }),
  )
  const md5 = (b: Buffer | string) => createHash('md5').update(b).digest()
  const expected = `"${createHash('md5')
    .update(Buffer.concat(texts.map(md5)))
    .digest('hex')}-3"`
  t.equal(done.ETag, expected, 'CompleteMultipartUpload answers it')
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mp/three' }))).ETag, expected, 'HEAD')
  const got = await getBytes(s3, { Key: 'mp/three' })
  t.equal(got.res.ETag, expected, 'GET')
  t.equal(got.body.toString(), texts.join(''), 'the bytes are the parts in order')
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'mp/' }))
  t.equal(listed.Contents?.[0]?.ETag, expected, 'ListObjectsV2')
  t.equal(await statusOf(getBytes(s3, { Key: 'mp/three', IfMatch: expected })), 200, 'If-Match with it matches')
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mp/single', Body: 'one shot' }))
  t.equal(
    (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mp/single' }))).ETag,
    `"${md5('one shot').toString('hex')}"`,
    'a single PUT keeps its MD5',
  )
})

t.test('request counters', async t => {
  await server.resetStats()
  const zero = await server.stats()
  t.equal(zero.total, 0)
  await getBytes(s3once, { Key: 'big.bin' })
  await getBytes(s3once, { Key: 'big.bin', Range: 'bytes=0-99' })
  await getBytes(s3once, { Key: 'big.bin', Range: 'bytes=-50' })
  let stats = await server.stats()
  t.same(stats.bytesSentByKind.getObject, 1000)
  t.same(stats.bytesSentByKind.rangedGet, 150)
  t.same(stats.responses, { '200': 1, '206': 2 })

  await s3once.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }))
  await s3once.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'train/', Delimiter: '/' }))
  await s3once.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'train/' }))
  await s3once.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'counted/a', Body: 'a' }))
  await s3once.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'counted/b', CopySource: `${BUCKET}/counted/a` }))
  await s3once.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'counted/b' }))
  const upload = await s3once.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'counted/mp' }))
  const parts = []
  for (const [i, text] of ['part one ', 'part two'].entries()) {
    const part = await s3once.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'counted/mp', UploadId: upload.UploadId, PartNumber: i + 1, Body: text }))
    parts.push({ PartNumber: i + 1, ETag: part.ETag })
  }
  await s3once.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'counted/mp', UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }))
  const mp = await getBytes(s3once, { Key: 'counted/mp' })
  t.equal(mp.body.toString(), 'part one part two')

  stats = await server.stats()
  t.same(stats.requests, {
    getObject: 2,
    rangedGet: 2,
    headObject: 1,
    list: 2,
    putObject: 1,
    multipart: 4,
    copy: 1,
    delete: 1,
    other: 0,
  })
  t.equal(stats.total, 14)
  t.equal(stats.bytesSentByKind.headObject, 0)
  t.ok(stats.bytesSent >= 1000 + 150 + 17, 'bytesSent includes object bytes and XML bodies')
  t.equal(stats.faultsInjected, 0)
  await server.resetStats()
  t.equal((await server.stats()).total, 0, 'reset clears; control requests are not counted')
})

t.test('faults', async t => {
  await server.resetStats()
  await server.injectFault({ status: 503, count: 2, match: 'getObject' })
  const slow = await getBytes(s3once, { Key: 'top.txt' }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.equal(s3Status(slow), 503)
  t.equal((slow as Error).name, 'SlowDown', 'S3 XML error body with the default code')
  t.equal(await statusOf(s3once.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'top.txt' }))), 200, 'HEAD does not match getObject')
  t.equal(await statusOf(getBytes(s3once, { Key: 'top.txt' })), 503)
  t.equal(await statusOf(getBytes(s3once, { Key: 'top.txt' })), 200, 'count spent')

  await server.injectFault({ status: 500, code: 'InternalError', match: 'GET', keyPrefix: 'train/' })
  t.equal(await statusOf(getBytes(s3once, { Key: 'top.txt' })), 200, 'keyPrefix not matched')
  t.equal(await statusOf(getBytes(s3once, { Key: 'train/cat/0.jpg' })), 500)

  await server.injectFault({ reset: 'connection', count: 2 })
  for (const attempt of [1, 2]) {
    const err = await s3once.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'top.txt' })).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(err instanceof Error && s3Status(err) === undefined, `reset ${attempt}: a network error, no HTTP status`)
  }
  t.equal(await statusOf(s3once.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'top.txt' }))), 200)

  await server.injectFault({ delayMs: 300, match: 'list' })
  const started = Date.now()
  const listed = await s3once.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'train/' }))
  t.ok(Date.now() - started >= 290, 'delayed')
  t.equal(listed.KeyCount, 3, 'then served normally')

  await server.injectFault({ status: 503, count: 100 })
  await server.clearFaults()
  t.equal(await statusOf(getBytes(s3once, { Key: 'top.txt' })), 200, 'cleared')

  await t.rejects(server.injectFault({ count: 1 }), /at least one of status, reset, delayMs/)
  await t.rejects(server.injectFault({ status: 200 }), /status: an integer from 400 to 599/)
  await t.rejects(server.injectFault({ status: 503, match: 'FETCH' }), /match: one of/)

  const stats = await server.stats()
  t.equal(stats.faultsInjected, 6)
  t.equal(stats.responses['503'], 2)
  t.equal(stats.responses.aborted, 2)
})

t.test('stop() kills the server and removes the directory it created', async t => {
  const other = await startLocalS3Server({ buckets: ['scratch'] })
  t.ok(existsSync(other.directory))
  await other.stop()
  await other.stop() // idempotent
  t.notOk(existsSync(other.directory))
  await t.rejects(other.stats(), { code: 'ECONNREFUSED' })
})
