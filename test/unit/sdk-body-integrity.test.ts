/**
 * Response bodies checked against what the store says they are, before any byte is
 * returned (so before any cache sees it), through the real SDK client against a small
 * HTTP store on 127.0.0.1:0: an MD5 ETag of a whole object (our check) and S3's
 * additional checksums with checksum mode on (the SDK's check, which we detect and
 * type). A corrupt body (same length, one byte changed) is retried like a broken one,
 * then CorruptTransferError; what cannot be checked (a range, a multipart `-N` ETag or
 * checksum, SSE-KMS) is documented here by what passes unchecked.
 *
 * Every case runs twice: through the lean GET (lean-get.ts; the default for a plain
 * path-style endpoint such as this one), where the checksums are computed by
 * body-integrity.ts, and with `sdkGets` (every GET through the SDK's stack).
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { crc32 } from 'node:zlib'
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc'
import t, { type Test } from 'tap'
import { CorruptTransferError } from '../../src/errors.js'
import { SdkObjectClient } from '../../src/s3/sdk-object-client.js'

process.env.AWS_ACCESS_KEY_ID = 'test'
process.env.AWS_SECRET_ACCESS_KEY = 'test'

const data = randomBytes(300_000)
const md5 = createHash('md5').update(data).digest('hex')
const crc32Header = (b: Buffer) => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(b))
  return out.toString('base64')
}
const sha256Header = (b: Buffer) => createHash('sha256').update(b).digest('base64')
const sdkChecksum = async (C: typeof Crc32c | typeof Crc64Nvme, b: Buffer) => {
  const h = new C()
  h.update(b)
  return Buffer.from(await h.digest()).toString('base64')
}

interface Store {
  etag: string
  headers?: Record<string, string>
  faults: Array<'corrupt' | 'ok'>
}
interface Seen {
  range: string | undefined
  checksumMode: string | undefined
  /** The SDK sends its user agent; the lean GET sends none. */
  sdk: boolean
}
type Event = { method: string; ok: boolean }

type Mode = 'lean' | 'sdk'
const MODES: Mode[] = ['lean', 'sdk']

async function withStore(t: Test, mode: Mode, store: Store, test: (client: SdkObjectClient, seen: Seen[], events: Event[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = []
  const events: Event[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      range: req.headers.range,
      checksumMode: req.headers['x-amz-checksum-mode'] as string | undefined,
      sdk: req.headers['x-amz-user-agent'] !== undefined || /aws-sdk/.test(req.headers['user-agent'] ?? ''),
    })
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')
    const start = Number(m?.[1] ?? 0)
    const end = m === null ? data.length : Number(m[2]) + 1
    const body = Buffer.from(data.subarray(start, end))
    if (store.faults.shift() === 'corrupt') body[body.length >> 1]! ^= 0x01
    res.writeHead(m === null ? 200 : 206, {
      'content-length': body.length,
      etag: `"${store.etag}"`,
      ...(m === null ? {} : { 'content-range': `bytes ${start}-${end - 1}/${data.length}` }),
      ...(store.headers ?? {}),
    })
    res.end(body)
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  const client = new SdkObjectClient(
    {
      bucket: 'b',
      region: 'us-east-1',
      endpointUrl: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      maxSockets: 8,
      maxAttempts: 2,
      connectTimeoutMs: 1000,
      requestDeadlineMs: 10_000,
      ...(mode === 'sdk' ? { sdkGets: true } : {}),
    },
    e => events.push({ method: e.method, ok: e.ok }),
  )
  try {
    await test(client, seen, events)
    if (seen.length > 0)
      t.same(new Set(seen.map(s => s.sdk)), new Set([mode === 'sdk']), `every GET went ${mode === 'sdk' ? 'through the SDK' : 'the lean way'}`)
  } finally {
    server.closeAllConnections()
    await new Promise(r => server.close(r))
  }
}

const whole = (etag: string) => ({ key: 'k', start: 0, endExclusive: data.length, ifMatch: etag, objectSize: data.length })
const join = (pieces: Buffer[]) => Buffer.concat(pieces)

for (const mode of MODES) {
  t.test(`${mode}: an MD5 ETag of a whole object: a corrupt body is retried, the clean one returned`, async t => {
    await withStore(t, mode, { etag: md5, faults: ['corrupt'] }, async (client, seen, events) => {
      t.ok(join(await client.getPieces(whole(md5), 1 << 20)).equals(data), 'exact bytes')
      t.equal(seen.length, 2, 'one corrupt response, then a clean one')
      t.equal(seen[0]?.range, undefined, 'a whole object is asked for without a Range')
      t.equal(seen[0]?.checksumMode, 'ENABLED', 'with checksum mode on')
      t.same(events, [
        { method: 'md5', ok: false },
        { method: 'md5', ok: true },
      ])
    })
  })

  t.test(`${mode}: an MD5 ETag, corrupt on every attempt: CorruptTransferError, no bytes`, async t => {
    await withStore(t, mode, { etag: md5, faults: ['corrupt', 'corrupt', 'corrupt', 'corrupt', 'corrupt'] }, async (client, seen, events) => {
      await t.rejects(client.getRange(whole(md5)), CorruptTransferError)
      t.equal(seen.length, 4, 'tried as often as a broken body')
      t.equal(events.filter(e => !e.ok).length, 4)
    })
  })

  t.test(`${mode}: x-amz-checksum-crc32 of a whole object (the SDK checks it): a corrupt body is retried`, async t => {
    const etag = 'not-an-md5'
    await withStore(t, mode, { etag, headers: { 'x-amz-checksum-crc32': crc32Header(data) }, faults: ['corrupt'] }, async (client, seen, events) => {
      t.ok((await client.getRange(whole(etag))).equals(data), 'exact bytes')
      t.equal(seen.length, 2)
      t.same(events, [
        { method: 'checksum', ok: false },
        { method: 'checksum', ok: true },
      ])
    })
  })

  t.test(`${mode}: x-amz-checksum-sha256 with an MD5 ETag, corrupt on every attempt: CorruptTransferError; one check per body`, async t => {
    await withStore(
      t,
      mode,
      { etag: md5, headers: { 'x-amz-checksum-sha256': sha256Header(data) }, faults: ['corrupt', 'corrupt', 'corrupt', 'corrupt'] },
      async (client, seen, events) => {
        await t.rejects(client.getRange(whole(md5)), CorruptTransferError)
        t.equal(seen.length, 4)
        t.same(new Set(events.map(e => e.method)), new Set(['checksum']), "the store's checksum, not the MD5 as well")
      },
    )
  })

  t.test(`${mode}: what cannot be checked passes unchecked (documented, not wished away)`, async t => {
    await withStore(
      t,
      mode,
      { etag: `${md5}-2`, headers: { 'x-amz-checksum-crc32': `${crc32Header(data)}-2` }, faults: ['corrupt'] },
      async (client, _seen, events) => {
        const got = await client.getRange(whole(`${md5}-2`))
        t.notOk(got.equals(data), 'a multipart object (`-N` ETag and checksum): no check is possible')
        t.same(events, [])
      },
    )
    await withStore(t, mode, { etag: md5, headers: { 'x-amz-server-side-encryption': 'aws:kms' }, faults: ['corrupt'] }, async (client, _seen, events) => {
      t.notOk((await client.getRange(whole(md5))).equals(data), 'SSE-KMS: the ETag is not an MD5')
      t.same(events, [])
    })
    await withStore(t, mode, { etag: md5, headers: { 'x-amz-checksum-crc32': crc32Header(data) }, faults: ['corrupt'] }, async (client, seen, events) => {
      const part = await client.getRange({ key: 'k', start: 1000, endExclusive: 200_000, ifMatch: md5, objectSize: data.length })
      t.notOk(part.equals(data.subarray(1000, 200_000)), 'part of an object: no checksum covers a range')
      t.equal(seen[0]?.range, 'bytes=1000-199999')
      t.equal(seen[0]?.checksumMode, undefined, 'checksum mode is not asked for a range')
      t.same(events, [])
    })
    await withStore(t, mode, { etag: md5, faults: ['corrupt'] }, async (client, seen, events) => {
      await client.getRange({ key: 'k', start: 0, endExclusive: data.length, ifMatch: md5 })
      t.equal(seen[0]?.range, `bytes=0-${data.length - 1}`, 'without objectSize the caller asked for a range')
      t.same(events, [])
    })
  })

  t.test(`${mode}: x-amz-checksum-crc64nvme and -crc32c (S3's default and a common one): checked, a corrupt body retried`, async t => {
    for (const [name, C] of [
      ['crc64nvme', Crc64Nvme],
      ['crc32c', Crc32c],
    ] as const) {
      const etag = 'not-an-md5'
      const headers = { [`x-amz-checksum-${name}`]: await sdkChecksum(C, data) }
      await withStore(t, mode, { etag, headers, faults: ['corrupt'] }, async (client, seen, events) => {
        t.ok((await client.getRange(whole(etag))).equals(data), `${name}: exact bytes`)
        t.equal(seen.length, 2, `${name}: one corrupt response, then a clean one`)
        t.same(events, [
          { method: 'checksum', ok: false },
          { method: 'checksum', ok: true },
        ])
      })
    }
  })
}
