/**
 * XML helpers for the local S3 server's own responses (listings, errors,
 * injected faults). s3rver renders its errors itself; the handlers in this
 * folder that replace or precede s3rver's use these so every error a client
 * sees has the same shape real S3 sends: <Error><Code>…</Code><Message>…</Message>…</Error>.
 */
import { randomBytes } from 'node:crypto'
import type { KoaContext } from 's3rver'

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, ch => {
    switch (ch) {
      case '<':
        return '&lt;'
      case '>':
        return '&gt;'
      case '&':
        return '&amp;'
      case '"':
        return '&quot;'
      default:
        return '&apos;'
    }
  })
}

/** `<Name>escaped value</Name>`; undefined values produce nothing so optional elements stay out. */
export function element(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  return `<${name}>${escapeXml(String(value))}</${name}>`
}

export function xmlDocument(body: string): string {
  return XML_DECLARATION + body
}

/** The S3 error code real S3 uses for a status, so injected faults look like the real thing. */
export function defaultErrorCode(status: number): string {
  switch (status) {
    case 400:
      return 'InvalidRequest'
    case 403:
      return 'AccessDenied'
    case 404:
      return 'NoSuchKey'
    case 409:
      return 'OperationAborted'
    case 412:
      return 'PreconditionFailed'
    case 416:
      return 'InvalidRange'
    case 500:
      return 'InternalError'
    case 501:
      return 'NotImplemented'
    case 503:
      return 'SlowDown'
    default:
      return status >= 500 ? 'InternalError' : 'InvalidRequest'
  }
}

export interface S3ErrorReply {
  status: number
  code: string
  message: string
  /** Extra child elements of <Error>, e.g. { Key: 'a/b' } or { Condition: 'If-Match' }. */
  detail?: Record<string, string | number>
}

export function errorXml(reply: S3ErrorReply): string {
  const detail = Object.entries(reply.detail ?? {})
    .map(([name, value]) => element(name, value))
    .join('')
  const requestId = randomBytes(8).toString('hex').toUpperCase()
  return xmlDocument(`<Error>${element('Code', reply.code)}${element('Message', reply.message)}${detail}` + `${element('RequestId', requestId)}</Error>`)
}

export function noSuchBucket(bucket: string): S3ErrorReply {
  return { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist', detail: { BucketName: bucket } }
}

export function noSuchKey(key: string): S3ErrorReply {
  return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.', detail: { Key: key } }
}

/** Answers the request with an S3 error. For HEAD, Node drops the body, as S3 does. */
export function sendS3Error(ctx: KoaContext, reply: S3ErrorReply): void {
  ctx.status = reply.status
  ctx.body = errorXml(reply)
  ctx.type = 'application/xml'
}
