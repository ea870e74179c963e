/**
 * One GET, read as it arrives into block-sized pieces (`PieceWriter`), with the retries
 * the HTTP layer cannot do: the SDK's retry strategy covers failures before the
 * response headers, so a body that breaks off or comes short is tried again here (same
 * If-Match), within the caller's deadline (`signal`). A response whose ETag is not the
 * version asked for (a store that ignores If-Match) is PreconditionFailedError, never
 * data. A body that fails the store's checksum or MD5 ETag (body-integrity.ts) is
 * CorruptTransferError, retried like a broken one; its bytes are never returned, so they
 * never reach a cache.
 *
 * Each attempt is sent by a `GetSender`: the SDK's GetObject (`sdkSender`), or the lean
 * GET (`leanSender`, lean-get.ts) that hands every answer but a 200/206 to the SDK.
 */
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3'
import { CorruptTransferError, NetworkError, PreconditionFailedError, UnexpectedResponseError } from '../errors.js'
import { BodyIntegrity, CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type IntegrityMethod, type ResponseFacts } from './body-integrity.js'
import { LeanGet } from './lean-get.js'
import type { RangeRequest } from './object-client.js'
import { PieceWriter } from './piece-writer.js'
import { WirePool } from './wire-pool.js'
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

/** The head of one answered GET: what the headers say, and the body still to read. */
export interface GetAnswer {
  readonly facts: ResponseFacts
  readonly contentLength: number | undefined
  /**
   * Reads the body into `writer`, telling `onBytes` of each span as it lands; rejects with
   * the body's failure, or UnexpectedResponseError for more bytes than `writer` holds.
   */
  read(writer: PieceWriter, onBytes: (span: Uint8Array) => void): Promise<void>
  /** Gives the rest of the body up. */
  drain(): void
  readonly integrity: (whole: boolean) => BodyIntegrity
}

/** Sends one attempt of `request` (`whole`: without a Range, checksum mode on). */
export type GetSender = (request: RangeRequest, whole: boolean, s: { abortSignal: AbortSignal }) => Promise<GetAnswer>

/**
 * The bytes of `request` as pieces of `pieceBytes`, retrying broken bodies. Pieces told to
 * `request.onPiece` before a body broke off are kept: the next attempt asks only for the
 * rest of the range. `sumChunks`: the pieces will be block files; their chunks'
 * CRC-32s are taken as the bytes land (s3/piece-writer.ts).
 */
export async function getPiecesRetrying(
  send: GetSender,
  bucket: string,
  request: RangeRequest,
  pieceBytes: number,
  s: { abortSignal: AbortSignal },
  onChecked: IntegrityListener = () => {},
  sumChunks = false,
): Promise<Buffer[]> {
  const kept: Buffer[] = []
  for (let attempt = 1; ; attempt++) {
    const early: Buffer[] = []
    const onPiece = request.onPiece
    const deliver =
      onPiece === undefined
        ? undefined
        : (piece: Buffer): void => {
            early.push(piece)
            onPiece(kept.length + early.length - 1, piece)
          }
    const start = request.start + kept.length * pieceBytes
    try {
      if (start >= request.endExclusive) return kept
      const pieces = await getOnce(send, bucket, kept.length === 0 ? request : { ...request, start }, pieceBytes, s, onChecked, deliver, sumChunks)
      return kept.length === 0 ? pieces : [...kept, ...pieces]
    } catch (err) {
      if (!(err instanceof BodyError) || attempt >= BODY_ATTEMPTS || s.abortSignal.aborted) throw err instanceof BodyError ? err.cause : err
      kept.push(...early)
      await new Promise(r => setTimeout(r, BODY_RETRY_DELAY_MS * attempt))
    }
  }
}

/**
 * One GET whose body is copied, as it arrives, into pieces of `pieceBytes` (no buffer of
 * the whole range); `deliver` hears of each piece once complete, for a ranged GET only.
 */
async function getOnce(
  send: GetSender,
  bucket: string,
  request: RangeRequest,
  pieceBytes: number,
  s: { abortSignal: AbortSignal },
  onChecked: IntegrityListener,
  deliver: ((piece: Buffer) => void) | undefined,
  sumChunks: boolean,
): Promise<Buffer[]> {
  const where = `GetObject s3://${bucket}/${request.key}`
  const wanted = request.endExclusive - request.start
  // A whole object is asked for without a Range and with checksum mode on: only then does S3 return its checksums.
  const whole = request.objectSize !== undefined && request.start === 0 && request.endExclusive >= request.objectSize
  const answer = await send(request, whole, s)
  const { etag } = answer.facts
  if (request.ifMatch !== undefined && etag !== '' && etag !== request.ifMatch) {
    answer.drain()
    throw new PreconditionFailedError(`${where}: the store answered version ${etag}, not ${request.ifMatch}`)
  }
  const length = answer.contentLength ?? wanted
  if (length > wanted) {
    answer.drain()
    throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, got ${length}`)
  }
  const pieces = PieceWriter.forLength(length, pieceBytes, sumChunks, request.allocPiece)
  const integrity = answer.integrity(whole && length === wanted)
  // Early only where nothing can refuse the bytes later: no whole-body check, a known length.
  const early = whole || answer.contentLength === undefined ? undefined : deliver
  let delivered = 0
  const corrupt = (method: IntegrityMethod, cause?: unknown): BodyError => {
    onChecked({ key: request.key, method, ok: false })
    return new BodyError(new CorruptTransferError(`${where}: the body failed the store's ${method === 'md5' ? 'MD5 ETag' : 'checksum'}`, { cause }))
  }
  try {
    await answer.read(pieces, span => {
      integrity.update(span)
      if (early !== undefined) while (delivered < pieces.complete) early(pieces.pieces[delivered++] as Buffer)
    })
  } catch (err) {
    if (err instanceof UnexpectedResponseError) throw new UnexpectedResponseError(`${where}: asked for ${wanted} bytes, ${err.message}`)
    const failed = pieces.filled === length ? integrity.failedAfterComplete() : undefined
    if (failed !== undefined) throw corrupt(failed, err)
    throw new BodyError(mapSdkError(err, { operation: 'GetObject', bucket, key: request.key }))
  }
  if (pieces.filled !== length) throw new BodyError(new NetworkError(`${where}: the body ended after ${pieces.filled} of ${length} bytes`))
  const wrong = await integrity.verdict()
  if (wrong !== undefined) throw corrupt(wrong)
  for (const method of integrity.methods) onChecked({ key: request.key, method, ok: true })
  return pieces.pieces
}

/** `GetAnswer.read` of a streamed body (the SDK's): each chunk copied into the writer. */
function streamReader(body: AsyncIterable<Uint8Array>): GetAnswer['read'] {
  return (writer, onBytes) =>
    eachChunk(body, chunk => {
      if (!writer.write(chunk)) throw new UnexpectedResponseError(`got more than ${writer.length}`)
      onBytes(chunk)
    })
}

/**
 * Hands each chunk of `body` to `onChunk` as it arrives; rejects with what `onChunk` threw
 * or with the stream's failure (a body that breaks off). A Node stream is read through
 * its 'data' events: a cold read is ~4,000 chunks per 256 MiB, and async iteration costs
 * a promise and a turn of the microtask queue for each.
 */
async function eachChunk(body: AsyncIterable<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  if (!(body instanceof Readable)) {
    for await (const chunk of body) onChunk(chunk)
    return
  }
  let thrown: { readonly err: unknown } | undefined
  const onData = (chunk: Uint8Array): void => {
    try {
      onChunk(chunk)
    } catch (err) {
      thrown = { err }
      body.destroy()
    }
  }
  body.on('data', onData)
  try {
    await finished(body)
  } catch (err) {
    throw thrown === undefined ? err : thrown.err
  } finally {
    body.off('data', onData)
  }
  if (thrown !== undefined) throw thrown.err
}

/** Attempts sent through the SDK's GetObject. */
export function sdkSender(s3: S3Client, bucket: string): GetSender {
  return async (request, whole, s) => {
    const out = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: request.key,
        ...(whole ? { ChecksumMode: 'ENABLED' as const } : { Range: `bytes=${request.start}-${request.endExclusive - 1}` }),
        ...(request.ifMatch !== undefined ? { IfMatch: `"${request.ifMatch}"` } : {}),
      }),
      s,
    )
    const body = out.Body
    if (body === undefined) throw new UnexpectedResponseError(`GetObject s3://${bucket}/${request.key}: no body`)
    const facts = sdkFacts(out)
    return {
      facts,
      contentLength: out.ContentLength,
      read: streamReader(body as AsyncIterable<Uint8Array>),
      drain: () => void body.transformToByteArray().catch(() => {}),
      integrity: w => BodyIntegrity.of(facts, w, 'sdk'),
    }
  }
}

function sdkFacts(out: GetObjectCommandOutput): ResponseFacts {
  const sent: Record<ChecksumAlgorithm, string | undefined> = {
    crc32: out.ChecksumCRC32,
    crc32c: out.ChecksumCRC32C,
    crc64nvme: out.ChecksumCRC64NVME,
    sha1: out.ChecksumSHA1,
    sha256: out.ChecksumSHA256,
  }
  const checksums = Object.fromEntries(Object.entries(sent).filter(([, v]) => v !== undefined))
  return { etag: stripEtag(out.ETag), checksums, sse: out.ServerSideEncryption, sseCustomerAlgorithm: out.SSECustomerAlgorithm }
}

/** Attempts sent by the lean GET; an answer it does not take (not 200/206, no connection) goes through `fallback`. */
export function leanSender(lean: LeanGet, fallback: GetSender): GetSender {
  return async (request, whole, s) => {
    const range = whole ? undefined : `bytes=${request.start}-${request.endExclusive - 1}`
    const res = await lean.send({ key: request.key, range, ...(request.ifMatch !== undefined ? { ifMatch: request.ifMatch } : {}), signal: s.abortSignal })
    if (res === undefined) return fallback(request, whole, s)
    const facts = leanFacts(res.headers)
    return {
      facts,
      contentLength: res.contentLength,
      read: (writer, onBytes) => res.read(writer, onBytes),
      drain: () => res.discard(),
      integrity: w => BodyIntegrity.of(facts, w, 'self'),
    }
  }
}

function leanFacts(headers: ReadonlyMap<string, string>): ResponseFacts {
  const header = (name: string): string | undefined => headers.get(name)
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {}
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = header(`x-amz-checksum-${algorithm}`)
    if (value !== undefined) checksums[algorithm] = value
  }
  return {
    etag: stripEtag(header('etag')),
    checksums,
    sse: header('x-amz-server-side-encryption'),
    sseCustomerAlgorithm: header('x-amz-server-side-encryption-customer-algorithm'),
  }
}

/** What `senderFor` needs of the client's configuration. */
export interface SenderConfig {
  readonly bucket: string
  readonly endpointUrl?: string
  readonly forcePathStyle: boolean
  readonly connectTimeoutMs: number
  /** Idle connections the lean GET keeps open. */
  readonly maxSockets: number
  readonly sdkGets?: boolean
}

/** The client's GET sender: the lean GET where the configuration allows it (lean-get.ts), the SDK behind it; the SDK alone with `sdkGets`. */
export function senderFor(s3: S3Client, config: SenderConfig): GetSender {
  const sdk = sdkSender(s3, config.bucket)
  if (config.sdkGets === true) return sdk
  const c = s3.config
  const lean = LeanGet.for({
    bucket: config.bucket,
    endpointUrl: config.endpointUrl,
    forcePathStyle: config.forcePathStyle,
    region: () => c.region(),
    credentials: () => c.credentials(),
    specialEndpoint: async () => (await c.useFipsEndpoint()) || (await c.useDualstackEndpoint()),
    pool: new WirePool(config.maxSockets, config.connectTimeoutMs),
  })
  return lean === undefined ? sdk : leanSender(lean, sdk)
}
