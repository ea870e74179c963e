/**
 * One ranged GET through the AWS SDK, read as it arrives into block-sized pieces
 * (`PieceWriter`), with the retries the SDK cannot do: its retry strategy covers
 * failures before the response headers, so a body that breaks off or comes short is
 * tried again here (same If-Match), within the caller's deadline (`signal`). A
 * response whose ETag is not the version asked for (a store that ignores If-Match) is
 * PreconditionFailedError, never data. A body that fails the store's checksum or MD5 ETag
 * (body-integrity.ts) is CorruptTransferError, retried like a broken one; its bytes are
 * never returned, so they never reach a cache.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { CorruptTransferError, NetworkError, PreconditionFailedError, UnexpectedResponseError } from '../errors.js'
import { BodyIntegrity, type IntegrityMethod } from './body-integrity.js'
import type { RangeRequest } from './object-client.js'
import { PieceWriter } from './piece-writer.js'
import { mapSdkError } from './sdk-error-mapper.js'

/** A GET whose body breaks off or comes short is tried this many times in all... */
const BODY_ATTEMPTS = 4
/** ...waiting this long times the attempt number between tries. */
const BODY_RETRY_DELAY_MS = 50

/** A failure while reading a response body (retried); `cause` is what the caller sees if it persists. */
class BodyError extends Error {
  override readonly cause: Error
  constructor(cause: Error) {
    super(cause.message)
    this.cause = cause
  }
}

/** Told of every body checked against the store's checksum or MD5 ETag, right or corrupt. */
export type IntegrityListener = (event: { readonly key: string; readonly method: IntegrityMethod; readonly ok: boolean }) => void

export function stripEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '')
}

/** The bytes of `request` as pieces of `pieceBytes`, retrying broken bodies. */
export async function getPiecesRetrying(
  s3: S3Client,
  bucket: string,
  request: RangeRequest,
  pieceBytes: number,
  s: { abortSignal: AbortSignal },
  onChecked: IntegrityListener = () => {},
): Promise<Buffer[]> {
  const wanted = request.endExclusive - request.start
  const where = `GetObject s3://${bucket}/${request.key}`
  for (let attempt = 1; ; attempt++) {
    try {
      return await getOnce(s3, bucket, request, wanted, pieceBytes, where, s, onChecked)
    } catch (err) {
      if (!(err instanceof BodyError) || attempt >= BODY_ATTEMPTS || s.abortSignal.aborted) throw err instanceof BodyError ? err.cause : err
      await new Promise(r => setTimeout(r, BODY_RETRY_DELAY_MS * attempt))
    }
  }
}

/** One GET whose body is copied, as it arrives, into pieces of `pieceBytes` (no buffer of the whole range). */
async function getOnce(
  s3: S3Client,
  bucket: string,
  request: RangeRequest,
  wanted: number,
  pieceBytes: number,
  where: string,
  s: { abortSignal: AbortSignal },
  onChecked: IntegrityListener,
): Promise<Buffer[]> {
  // A whole object is asked for without a Range and with checksum mode on: only then does S3 return its checksums.
  const whole = request.objectSize !== undefined && request.start === 0 && request.endExclusive >= request.objectSize
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: request.key,
      ...(whole ? { ChecksumMode: 'ENABLED' as const } : { Range: `bytes=${request.start}-${request.endExclusive - 1}` }),
      ...(request.ifMatch !== undefined ? { IfMatch: `"${request.ifMatch}"` } : {}),
    }),
    s,
  )
  if (out.Body === undefined) throw new UnexpectedResponseError(`${where}: no body`)
  if (request.ifMatch !== undefined && out.ETag !== undefined && stripEtag(out.ETag) !== request.ifMatch) {
    out.Body.transformToByteArray().catch(() => {}) // drain and drop
    throw new PreconditionFailedError(`${where}: the store answered version ${stripEtag(out.ETag)}, not ${request.ifMatch}`)
  }
  const length = out.ContentLength ?? wanted
  if (length > wanted) {
    out.Body.transformToByteArray().catch(() => {})
    throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, got ${length}`)
  }
  const pieces = PieceWriter.forLength(length, pieceBytes)
  const integrity = BodyIntegrity.of(out, stripEtag(out.ETag), whole && length === wanted)
  const corrupt = (method: IntegrityMethod, cause?: unknown): BodyError => {
    onChecked({ key: request.key, method, ok: false })
    return new BodyError(new CorruptTransferError(`${where}: the body failed the store's ${method === 'md5' ? 'MD5 ETag' : 'checksum'}`, { cause }))
  }
  try {
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
      if (!pieces.write(chunk)) throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, got more than ${length}`)
      integrity.update(chunk)
    }
  } catch (err) {
    if (err instanceof UnexpectedResponseError) throw err
    const failed = pieces.filled === length ? integrity.failedAfterComplete() : undefined
    if (failed !== undefined) throw corrupt(failed, err)
    throw new BodyError(mapSdkError(err, { operation: 'GetObject', bucket, key: request.key }))
  }
  if (pieces.filled !== length) throw new BodyError(new NetworkError(`${where}: the body ended after ${pieces.filled} of ${length} bytes`))
  const wrong = integrity.verdict()
  if (wrong !== undefined) throw corrupt(wrong)
  for (const method of integrity.methods) onChecked({ key: request.key, method, ok: true })
  return pieces.pieces
}
