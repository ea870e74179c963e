/**
 * Converts AWS SDK and Node network errors into our typed errors, at the
 * boundary of `src/s3/`. Decisions use HTTP status and error names, never text.
 */
import {
  AccessDeniedError,
  InvalidRangeError,
  NetworkError,
  NoSuchBucketError,
  NotFoundError,
  PreconditionFailedError,
  RemoteServerError,
  RequestTimeoutError,
  S3CacheFsError,
  ThrottledError,
  UnexpectedResponseError,
} from '../errors.js'

interface SdkLikeError {
  name?: string
  code?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
  $response?: { statusCode?: number }
}

const ACCESS_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AllAccessDisabled',
  'AccountProblem',
])
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
])

/** What the failing request was about, for the message and for 404 interpretation. */
export interface RequestContext {
  readonly operation: string
  readonly bucket: string
  readonly key?: string
}

export function mapSdkError(err: unknown, ctx: RequestContext): S3CacheFsError {
  if (err instanceof S3CacheFsError) return err
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkLikeError
  const name = e.name ?? e.Code ?? ''
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode
  const where = ctx.key !== undefined ? `s3://${ctx.bucket}/${ctx.key}` : `s3://${ctx.bucket}`
  const opts = { cause: err }

  if (name === 'AbortError' || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new RequestTimeoutError(`${ctx.operation} ${where}: no answer within the deadline`, opts)
  }
  if (name === 'NoSuchBucket' || (status === 404 && ctx.key === undefined)) {
    return new NoSuchBucketError(`bucket '${ctx.bucket}' does not exist`, opts)
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new NotFoundError(`${where} not found`, opts)
  }
  if (name === 'CredentialsProviderError') {
    return new AccessDeniedError(
      'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile, or configure ~/.aws/credentials',
      opts,
    )
  }
  if (ACCESS_NAMES.has(name) || status === 403 || status === 401) {
    return new AccessDeniedError(`${ctx.operation} ${where}: access denied (${name || status}); check the credentials and the bucket policy`, opts)
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new PreconditionFailedError(`${where} changed in the bucket while being read`, opts)
  }
  if (name === 'InvalidRange' || status === 416) {
    return new InvalidRangeError(`${ctx.operation} ${where}: range not satisfiable`, opts)
  }
  if (name === 'SlowDown' || name === 'Throttling' || name === 'ThrottlingException' || status === 429 || status === 503) {
    return new ThrottledError(`${ctx.operation} ${where}: the store is throttling requests (${name || status})`, opts)
  }
  if (status !== undefined && status >= 500) {
    return new RemoteServerError(`${ctx.operation} ${where}: server error ${status} ${name}`.trim(), opts)
  }
  const code = e.code ?? ''
  if (NETWORK_CODES.has(code) || NETWORK_CODES.has(name) || name === 'TimeoutError' || /socket|network/i.test(name)) {
    return new NetworkError(`${ctx.operation} ${where}: cannot reach the store (${code || name})`, opts)
  }
  return new UnexpectedResponseError(`${ctx.operation} ${where}: ${name || (err instanceof Error ? err.message : String(err))}`, opts)
}
