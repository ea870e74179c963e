/**
 * ListObjectsV2 and ListObjects (v1), answered in place of s3rver's handler.
 *
 * s3rver's handler encrypts continuation tokens with DES, which OpenSSL 3
 * refuses (every page after the first answered 500 on Node 17+), ends a page
 * on the last key even when the page holds only common prefixes (a crash),
 * and relies on its store's listing (see bucket-walk.ts for what that gets
 * wrong). This one parses the same parameters S3 does, pages with
 * bucket-walk.ts, and uses an opaque base64url token naming the bucket and the
 * last entry returned. Object metadata (ETag, size, mtime) still comes from
 * s3rver's store, so listings and GETs agree.
 */
import type { FilesystemStore, KoaContext, StoredMetadata } from 's3rver'
import { element, noSuchBucket, sendS3Error, xmlDocument } from '../s3-xml.js'
import { listBucketPage, type ListingEntry, type ListingPage } from './bucket-walk.js'

const MAX_KEYS_CAP = 1000 // S3 never returns more than 1,000 entries per page
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
// s3rver's single built-in account; listings report it as the owner, as s3rver does.
const OWNER = { id: '123456789000', displayName: 'S3rver' }

interface ListParams {
  bucket: string
  v2: boolean
  prefix: string
  delimiter: string
  /** What the client sent as max-keys (S3 echoes it), and the page size actually used. */
  maxKeysEcho: string
  maxKeys: number
  marker: string
  startAfter: string | undefined
  continuationToken: string | undefined
  fetchOwner: boolean
  urlEncoded: boolean
}

class InvalidArgumentError extends Error {
  constructor(
    message: string,
    readonly argument: string,
    readonly value: string,
  ) {
    super(message)
  }
}

type Query = KoaContext['query']

function single(query: Query, name: string): string | undefined {
  const value = query[name]
  return Array.isArray(value) ? value[0] : value
}

export async function serveListObjects(ctx: KoaContext, bucket: string): Promise<void> {
  const store = ctx.app.store
  if ((await store.getBucket(bucket)) === null) {
    sendS3Error(ctx, noSuchBucket(bucket))
    return
  }
  let params: ListParams
  try {
    params = parseListParams(ctx.query, bucket)
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err
    const detail = { ArgumentName: err.argument, ArgumentValue: err.value }
    sendS3Error(ctx, { status: 400, code: 'InvalidArgument', message: err.message, detail })
    return
  }
  const page: ListingPage =
    params.maxKeys === 0
      ? { entries: [], isTruncated: false }
      : await listBucketPage(store.getBucketPath(bucket), {
          prefix: params.prefix,
          delimiter: params.delimiter,
          marker: params.marker,
          maxEntries: params.maxKeys,
        })
  const metadata = await loadMetadata(store, bucket, page.entries)
  ctx.status = 200
  ctx.body = renderListing(params, page, metadata)
  ctx.type = 'application/xml'
}

function parseListParams(query: Query, bucket: string): ListParams {
  const v2 = single(query, 'list-type') === '2'
  const encoding = single(query, 'encoding-type')
  if (encoding !== undefined && encoding !== '' && encoding !== 'url') {
    throw new InvalidArgumentError('Invalid Encoding Method specified in Request', 'encoding-type', encoding)
  }
  const maxKeysEcho = single(query, 'max-keys') ?? String(MAX_KEYS_CAP)
  if (!/^\d+$/.test(maxKeysEcho) || Number(maxKeysEcho) > 2147483647) {
    throw new InvalidArgumentError('Provided max-keys not an integer or within integer range', 'max-keys', maxKeysEcho)
  }
  const continuationToken = v2 ? single(query, 'continuation-token') : undefined
  const startAfter = v2 ? single(query, 'start-after') : undefined
  const marker = v2 ? (continuationToken !== undefined ? decodeToken(continuationToken, bucket) : (startAfter ?? '')) : (single(query, 'marker') ?? '')
  return {
    bucket,
    v2,
    prefix: single(query, 'prefix') ?? '',
    delimiter: single(query, 'delimiter') ?? '',
    maxKeysEcho,
    maxKeys: Math.min(MAX_KEYS_CAP, Number(maxKeysEcho)),
    marker,
    startAfter,
    continuationToken,
    fetchOwner: v2 ? single(query, 'fetch-owner') === 'true' : true,
    urlEncoded: encoding === 'url',
  }
}

function encodeToken(bucket: string, lastEntry: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, after: lastEntry }), 'utf8').toString('base64url')
}

function decodeToken(token: string, bucket: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
    const fields = decoded as { b?: unknown; after?: unknown }
    if (fields.b === bucket && typeof fields.after === 'string') return fields.after
  } catch {
    // fall through: not one of ours
  }
  throw new InvalidArgumentError('The continuation token provided is incorrect', 'continuation-token', token)
}

/** Metadata of the page's keys; a key deleted since the walk maps to undefined and is left out. */
async function loadMetadata(store: FilesystemStore, bucket: string, entries: ListingEntry[]): Promise<Map<string, StoredMetadata | undefined>> {
  const keys = entries.filter(e => e.kind === 'key').map(e => e.name)
  const found = await Promise.all(
    keys.map(key =>
      store.getMetadata(bucket, key).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined
        throw err
      }),
    ),
  )
  return new Map(keys.map((key, i) => [key, found[i]]))
}

function renderListing(p: ListParams, page: ListingPage, metadata: Map<string, StoredMetadata | undefined>): string {
  const enc = (value: string | undefined): string | undefined => (value === undefined || !p.urlEncoded ? value : encodeURIComponent(value).replace(/%2F/g, '/'))
  const contents = page.entries
    .filter(e => e.kind === 'key' && metadata.get(e.name) !== undefined)
    .map(e => renderObject(enc(e.name) ?? '', metadata.get(e.name) as StoredMetadata, p.fetchOwner))
  const prefixes = page.entries.filter(e => e.kind === 'prefix').map(e => `<CommonPrefixes>${element('Prefix', enc(e.name))}</CommonPrefixes>`)
  const last = page.entries.at(-1)?.name
  const nextToken = page.isTruncated && last !== undefined ? encodeToken(p.bucket, last) : undefined
  const paging = p.v2
    ? element('StartAfter', p.continuationToken === undefined ? enc(p.startAfter) : undefined) +
      element('ContinuationToken', p.continuationToken) +
      element('NextContinuationToken', nextToken) +
      element('KeyCount', contents.length + prefixes.length)
    : element('Marker', enc(p.marker)) +
      // S3 sends NextMarker only with a delimiter; without one, clients resume from the last key.
      element('NextMarker', page.isTruncated && p.delimiter !== '' ? enc(last) : undefined)
  return xmlDocument(
    `<ListBucketResult xmlns="${S3_XMLNS}">` +
      element('Name', p.bucket) +
      element('Prefix', enc(p.prefix)) +
      paging +
      element('MaxKeys', p.maxKeysEcho) +
      element('Delimiter', p.delimiter === '' ? undefined : enc(p.delimiter)) +
      element('IsTruncated', page.isTruncated) +
      element('EncodingType', p.urlEncoded ? 'url' : undefined) +
      contents.join('') +
      prefixes.join('') +
      '</ListBucketResult>',
  )
}

function renderObject(key: string, meta: StoredMetadata, withOwner: boolean): string {
  const owner = withOwner ? `<Owner>${element('ID', OWNER.id)}${element('DisplayName', OWNER.displayName)}</Owner>` : ''
  return (
    '<Contents>' +
    element('Key', key) +
    element('LastModified', new Date(meta['last-modified']).toISOString()) +
    element('ETag', meta.etag) +
    element('Size', Number(meta['content-length'])) +
    owner +
    element('StorageClass', String(meta['x-amz-storage-class'] ?? 'STANDARD')) +
    '</Contents>'
  )
}
