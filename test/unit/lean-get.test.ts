/**
 * The lean GET signs exactly as the SDK does: for the same request, credentials, region
 * and time, its Authorization header, path and signed headers equal those of the SDK's
 * GetObject (captured by a request handler that never sends). A local S3 server does
 * not check signatures, so this is what proves the lean path correct for real S3.
 * A whole-object GET (no Range, checksum mode on) is compared the same way.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { LeanGet } from '../../src/s3/lean-get.js'
import { encodeKeyPath } from '../../src/s3/key-path.js'
import { WirePool } from '../../src/s3/wire-pool.js'

interface Captured {
  protocol: string
  hostname: string
  port?: number
  path: string
  query: Record<string, string>
  headers: Record<string, string>
}

async function sdkRequest(opts: {
  bucket: string
  key: string
  range: string | undefined
  ifMatch?: string
  endpoint?: string
  region: string
  token?: string
}): Promise<Captured> {
  let captured: Captured | undefined
  const s3 = new S3Client({
    region: opts.region,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
    credentials: {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      ...(opts.token !== undefined ? { sessionToken: opts.token } : {}),
    },
    requestHandler: {
      handle: async (req: Captured) => {
        captured = {
          protocol: req.protocol,
          hostname: req.hostname,
          ...(req.port !== undefined ? { port: req.port } : {}),
          path: req.path,
          query: { ...req.query },
          headers: { ...req.headers },
        }
        throw new Error('captured')
      },
    } as never,
    maxAttempts: 1,
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  await s3
    .send(
      new GetObjectCommand({
        Bucket: opts.bucket,
        Key: opts.key,
        ...(opts.range !== undefined ? { Range: opts.range } : { ChecksumMode: 'ENABLED' }),
        ...(opts.ifMatch !== undefined ? { IfMatch: `"${opts.ifMatch}"` } : {}),
      }),
    )
    .catch(() => {})
  if (captured === undefined) throw new Error('the SDK sent nothing')
  return captured
}

function lean(opts: { bucket: string; endpoint?: string; region: string; token?: string }): LeanGet {
  const l = LeanGet.for({
    bucket: opts.bucket,
    endpointUrl: opts.endpoint,
    forcePathStyle: opts.endpoint !== undefined,
    region: async () => opts.region,
    credentials: async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      ...(opts.token !== undefined ? { sessionToken: opts.token } : {}),
    }),
    specialEndpoint: async () => false,
    pool: new WirePool(1, 1000),
  })
  if (l === undefined) throw new Error('not a plain case')
  return l
}

const CASES = [
  {
    name: 'custom endpoint, path style',
    bucket: 'bench-img',
    key: 'train/n01440764/img 0001.JPEG',
    range: 'bytes=0-1048575',
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
  },
  {
    name: 'custom endpoint with a session token and If-Match',
    bucket: 'data',
    key: "a/ü/(x)*!'~+=,;@$&.bin",
    range: 'bytes=8388608-16777215',
    ifMatch: 'd41d8cd98f00b204e9800998ecf8427e',
    endpoint: 'https://minio.local:9443',
    region: 'eu-west-1',
    token: 'FwoGZXIvYXdzEXAMPLETOKEN',
  },
  { name: 'AWS, virtual-hosted', bucket: 'my-training-data', key: 'shards/train-00001-of-01024.tar', range: 'bytes=0-8388607', region: 'eu-central-1' },
  {
    name: 'AWS with a token and If-Match',
    bucket: 'imagenet-1k',
    key: 'val/ILSVRC2012_val_00000001.JPEG',
    range: 'bytes=0-131071',
    ifMatch: 'abc-2',
    region: 'us-west-2',
    token: 'IQoJb3JpZ2luX2VjEXAMPLE',
  },
  {
    name: 'whole object with checksum mode, custom endpoint',
    bucket: 'bench-img',
    key: 'train/a.JPEG',
    range: undefined,
    ifMatch: 'd41d8cd98f00b204e9800998ecf8427e',
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
  },
  { name: 'whole object with checksum mode, AWS', bucket: 'imagenet-1k', key: 'train/n01/b.JPEG', range: undefined, region: 'ap-southeast-2' },
]

for (const c of CASES) {
  t.test(`the lean GET signs as the SDK does: ${c.name}`, async t => {
    const sdk = await sdkRequest(c)
    const date = sdk.headers['x-amz-date'] as string
    const signingDate = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    )
    const l = lean(c)
    // The signer: the SDK's very request (its extra headers and x-id query included), signed by ours, gets the SDK's signature.
    const { authorization, ...unsigned } = sdk.headers
    const again = await l.signHttpRequest(
      { ...sdk, headers: Object.fromEntries(Object.entries(unsigned).filter(([h]) => !['x-amz-date', 'x-amz-security-token'].includes(h))) },
      signingDate,
    )
    t.equal(again.headers.authorization, authorization, "the SDK's request signed by the lean signer: the same signature")
    // The request: addressed and encoded as the SDK addresses it.
    const ours = await l.sign(c.key, c.range, c.ifMatch, signingDate)
    if (ours === undefined) throw new Error('not signed')
    t.equal(ours.hostname, sdk.hostname, 'host')
    t.equal(ours.path, sdk.path, 'path (key encoding)')
    for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'range', 'if-match', 'x-amz-checksum-mode'])
      t.equal(ours.headers[h], sdk.headers[h], h)
    t.match(
      ours.headers.authorization,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/[a-z0-9-]+\/s3\/aws4_request, SignedHeaders=host;(if-match;)?(range;)?(x-amz-checksum-mode;)?x-amz-content-sha256;x-amz-date(;x-amz-security-token)?, Signature=[0-9a-f]{64}$/,
    )
  })
}

t.test('only plain configurations take the lean path', async t => {
  const base = {
    region: async () => 'us-east-1',
    credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
    specialEndpoint: async () => false,
    pool: new WirePool(1, 1000),
  }
  t.ok(LeanGet.for({ ...base, bucket: 'b', endpointUrl: 'http://127.0.0.1:9000', forcePathStyle: true }))
  t.equal(LeanGet.for({ ...base, bucket: 'b', endpointUrl: 'http://127.0.0.1:9000', forcePathStyle: false }), undefined, 'virtual-hosted custom endpoint: SDK')
  t.equal(LeanGet.for({ ...base, bucket: 'my.dotted.bucket', endpointUrl: undefined, forcePathStyle: false }), undefined, 'dotted AWS bucket: SDK')
  t.ok(LeanGet.for({ ...base, bucket: 'plain-bucket', endpointUrl: undefined, forcePathStyle: false }))
  t.equal(LeanGet.for({ ...base, bucket: 'plain-bucket', endpointUrl: undefined, forcePathStyle: true }), undefined, 'path-style on AWS: SDK')
  const fips = LeanGet.for({ ...base, bucket: 'plain-bucket', endpointUrl: undefined, forcePathStyle: false, specialEndpoint: async () => true })
  t.equal(await fips?.sign('k', 'bytes=0-1'), undefined, 'a FIPS or dual-stack endpoint: SDK')
  const china = LeanGet.for({ ...base, region: async () => 'cn-north-1', bucket: 'plain-bucket', endpointUrl: undefined, forcePathStyle: false })
  t.equal(await china?.sign('k', 'bytes=0-1'), undefined, 'a region outside the standard partition: SDK')
  t.equal(encodeKeyPath("a b/c+d/e!'()*"), 'a%20b/c%2Bd/e%21%27%28%29%2A')
})

t.test('--sdk-gets reaches the client config; off by default', async t => {
  const { resolveMountConfig } = await import('../../src/config/resolve-config.js')
  const base = { cacheDir: '/tmp/s3cachefs-unit-cache' }
  t.equal(resolveMountConfig('s3://bucket', '/tmp', base).s3.sdkGets, undefined)
  t.equal(resolveMountConfig('s3://bucket', '/tmp', { ...base, sdkGets: true }).s3.sdkGets, true)
})
