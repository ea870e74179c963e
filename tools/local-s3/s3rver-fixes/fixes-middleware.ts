/**
 * Routes the S3 operations s3rver 3.7.1 gets wrong on Node 20 to our own
 * handlers, and lets everything else through to s3rver's router:
 * - ListObjectsV2 / ListObjects → list-objects.ts (DES tokens, lost common
 *   prefixes, MaxKeys, ordering);
 * - GetObject / HeadObject → get-object.ts (ranges, If-Match, 0-byte objects);
 * - PutObject / UploadPart with an aws-chunked body → decoded first
 *   (aws-chunked.ts), then s3rver stores it;
 * - CopyObject → its x-amz-copy-source decoded as S3 does (copy-source.ts); with REPLACE onto
 *   another key, the destination's stale ETag removed first (copy-replace-etag.ts);
 * - AbortMultipartUpload → abort-multipart-upload.ts (s3rver answers 405);
 * - CompleteMultipartUpload → s3rver, then complete-multipart-upload.ts gives the object
 *   S3's `<md5 of part md5s>-N` ETag (s3rver stores the content's MD5);
 * - a write (PUT, copy, multipart) of a key with a segment too long for s3rver's files (it
 *   stores `<key>._S3rver_object`; NAME_MAX is 255) → the segment's sidecar is recorded first
 *   and the store keeps it under a hashed name (long-segments.ts); a key over S3's 1,024 bytes
 *   → refused with S3's KeyTooLongError.
 * It sits after s3rver's vhost middleware, so ctx.path is path-style here.
 */
import type { KoaContext, KoaMiddleware } from 's3rver'
import { sendS3Error } from '../s3-xml.js'
import { isListRequest, isObjectRead, parseS3Path } from '../s3-request.js'
import { serveAbortMultipartUpload } from './abort-multipart-upload.js'
import { fixMultipartEtag } from './complete-multipart-upload.js'
import { decodeAwsChunkedUpload, isAwsChunked } from './aws-chunked.js'
import { normalizeCopySource } from './copy-source.js'
import { dropStaleCopyEtag } from './copy-replace-etag.js'
import { serveObjectRead } from './get-object.js'
import { serveListObjects } from './list-objects.js'
import { hasLongSegment, recordLongSegments } from './long-segments.js'

// s3rver's only account. s3rver rejects other access keys in its router, which
// our handlers bypass, so they check it too: a misconfigured client then fails
// on every request, not only on writes.
const ACCESS_KEY_ID = 'S3RVER'
/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024

/** The access key a request is signed with, if it is signed (SigV4 or SigV2, header or query). */
function accessKeyOf(ctx: KoaContext): string | undefined {
  const authorization = ctx.get('Authorization')
  const v4 = /Credential=([^/,\s]+)\//.exec(authorization)
  if (v4 !== null) return v4[1]
  const v2 = /^AWS ([^:]+):/.exec(authorization)
  if (v2 !== null) return v2[1]
  const credential = ctx.query['X-Amz-Credential']
  if (typeof credential === 'string') return credential.split('/')[0]
  const v2Query = ctx.query['AWSAccessKeyId']
  return typeof v2Query === 'string' ? v2Query : undefined
}

function rejectUnknownKey(ctx: KoaContext): boolean {
  const key = accessKeyOf(ctx)
  if (key === undefined || key === ACCESS_KEY_ID) return false
  sendS3Error(ctx, {
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist in our records.',
    detail: { AWSAccessKeyId: key },
  })
  return true
}

export function s3rverFixesMiddleware(): KoaMiddleware {
  return async function s3cachefsFixes(ctx, next) {
    const target = parseS3Path(ctx.path)
    if (target?.bucket === undefined) return next()
    if (isListRequest(ctx.method, target, ctx.query)) {
      if (!rejectUnknownKey(ctx)) await serveListObjects(ctx, target.bucket)
      return
    }
    if (target.key !== undefined && isObjectRead(ctx.method, target, ctx.query)) {
      if (!rejectUnknownKey(ctx)) await serveObjectRead(ctx, target.bucket, target.key)
      return
    }
    const uploadId = ctx.query['uploadId']
    if (ctx.method === 'DELETE' && target.key !== undefined && typeof uploadId === 'string') {
      if (!rejectUnknownKey(ctx)) await serveAbortMultipartUpload(ctx, target.bucket, uploadId)
      return
    }
    if ((ctx.method === 'PUT' || ctx.method === 'POST') && target.key !== undefined) {
      if (Buffer.byteLength(target.key) > MAX_KEY_BYTES) {
        sendS3Error(ctx, { status: 400, code: 'KeyTooLongError', message: 'Your key is too long' })
        return
      }
      // Not for a bucket that does not exist: the sidecar's directory would create it.
      if (hasLongSegment(target.key) && (await ctx.app.store.getBucket(target.bucket)) !== null) {
        await recordLongSegments(ctx.app.store.getBucketPath(target.bucket), target.key)
      }
    }
    if (ctx.method === 'POST' && target.key !== undefined && typeof uploadId === 'string') {
      await next()
      await fixMultipartEtag(ctx, target.bucket, target.key)
      return
    }
    if (ctx.method === 'PUT' && target.key !== undefined) {
      if (isAwsChunked(ctx.headers)) decodeAwsChunkedUpload(ctx)
      normalizeCopySource(ctx)
      await dropStaleCopyEtag(ctx, target.bucket, target.key)
    }
    return next()
  }
}
