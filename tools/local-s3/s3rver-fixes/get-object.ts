/**
 * GetObject and HeadObject, answered in place of s3rver's handler so that
 * ranges and conditional headers behave as on real S3 (rules in
 * read-rules.ts). Object bytes and metadata still come from s3rver's store,
 * so PUTs through s3rver and reads through here see the same objects.
 */
import { createReadStream, type ReadStream } from 'node:fs'
import type { KoaContext, StoredMetadata } from 's3rver'
import { noSuchBucket, noSuchKey, sendS3Error } from '../s3-xml.js'
import { evaluatePreconditions, resolveRange, type RangeOutcome } from './read-rules.js'

// Query parameters that override response headers (S3 allows them on GET and HEAD).
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
}

const DEFAULT_CONTENT_TYPE = 'binary/octet-stream' // what S3 (and s3rver) report for objects stored without one

function header(ctx: KoaContext, name: string): string | undefined {
  const value = ctx.get(name)
  return value === '' ? undefined : value
}

export async function serveObjectRead(ctx: KoaContext, bucket: string, key: string): Promise<void> {
  const store = ctx.app.store
  const meta = await store.getMetadata(bucket, key).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (meta === undefined) return sendMissing(ctx, bucket, key)
  // S3 checks the conditions before the range: a failed If-Match is 412 even for a bad range.
  if (answeredByPreconditions(ctx, meta)) return
  const size = Number(meta['content-length'])
  const range = resolveRange(header(ctx, 'Range'), size)
  if (range.kind === 'unsatisfiable') {
    sendS3Error(ctx, {
      status: 416,
      code: 'InvalidRange',
      message: 'The requested range is not satisfiable',
      detail: { RangeRequested: ctx.get('Range'), ActualObjectSize: size },
    })
    ctx.set('Content-Range', `bytes */${size}`)
    return
  }
  await sendObject(ctx, key, store.getResourcePath(bucket, key, 'object'), meta, range)
}

/** Answers 412 or 304 when the conditional headers say so; true when it did. */
function answeredByPreconditions(ctx: KoaContext, meta: StoredMetadata): boolean {
  const precondition = evaluatePreconditions(
    {
      ifMatch: header(ctx, 'If-Match'),
      ifNoneMatch: header(ctx, 'If-None-Match'),
      ifModifiedSince: header(ctx, 'If-Modified-Since'),
      ifUnmodifiedSince: header(ctx, 'If-Unmodified-Since'),
    },
    meta.etag,
    new Date(meta['last-modified']),
  )
  switch (precondition.outcome) {
    case 'failed':
      sendS3Error(ctx, {
        status: 412,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
        detail: { Condition: precondition.condition },
      })
      return true
    case 'notModified':
      ctx.status = 304
      ctx.set('ETag', meta.etag)
      ctx.set('Last-Modified', meta['last-modified'])
      return true
    default:
      return false
  }
}

async function sendMissing(ctx: KoaContext, bucket: string, key: string): Promise<void> {
  const bucketExists = (await ctx.app.store.getBucket(bucket)) !== null
  sendS3Error(ctx, bucketExists ? noSuchKey(key) : noSuchBucket(bucket))
}

async function sendObject(ctx: KoaContext, key: string, filePath: string, meta: StoredMetadata, range: RangeOutcome): Promise<void> {
  const size = Number(meta['content-length'])
  let stream: ReadStream | undefined
  if (ctx.method === 'GET') {
    stream = await openObject(filePath, range)
    if (stream === undefined) return sendS3Error(ctx, noSuchKey(key))
  }
  setObjectHeaders(ctx, meta)
  if (range.kind === 'partial') {
    ctx.status = 206
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
    ctx.length = range.end - range.start + 1
  } else {
    ctx.status = 200
    ctx.length = size
  }
  // HEAD: Koa sends the headers (with Content-Length) and no body.
  if (stream !== undefined) ctx.body = stream
}

/** Opens the object's file for the range; undefined when it vanished since its metadata was read. */
async function openObject(filePath: string, range: RangeOutcome): Promise<ReadStream | undefined> {
  const options = range.kind === 'partial' ? { start: range.start, end: range.end } : {}
  const stream = createReadStream(filePath, options)
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve())
      stream.once('error', reject)
    })
    return stream
  } catch (err) {
    stream.destroy()
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function setObjectHeaders(ctx: KoaContext, meta: StoredMetadata): void {
  for (const [name, value] of Object.entries(meta)) {
    if (name === 'content-length' || value === undefined) continue // Koa sets the length from ctx.length
    ctx.set(name, String(value))
  }
  if (meta['content-type'] === undefined) ctx.set('Content-Type', DEFAULT_CONTENT_TYPE)
  ctx.set('Accept-Ranges', 'bytes')
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = ctx.query[param]
    if (typeof value === 'string') ctx.set(name, value)
  }
}
