/**
 * Decodes `aws-chunked` upload bodies before s3rver stores them.
 *
 * AWS SDK v3 (since its default flexible checksums, early 2025) sends a
 * PutObject or UploadPart whose body is a stream as
 * `Content-Encoding: aws-chunked` with `x-amz-content-sha256:
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER`: hex-size lines, data, and a trailing
 * checksum header. s3rver 3.7.1 stores those bytes verbatim, so the object
 * reads back with the framing in it (found while testing; real S3 decodes).
 * The decoder replaces ctx.req for s3rver's handlers and fixes the headers
 * s3rver keeps as metadata. Chunk signatures and the trailing checksum are
 * not verified, in line with s3rver not verifying SigV4.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import type { KoaContext } from 's3rver'

const MAX_LINE_BYTES = 8 * 1024 // a chunk header or trailer line is < 200 bytes; more means garbage
const CRLF = Buffer.from('\r\n')

class AwsChunkedDecodeError extends Error {
  readonly code = 'AWS_CHUNKED_MALFORMED'
}

/** True when the request body carries aws-chunked framing. */
export function isAwsChunked(headers: KoaContext['headers']): boolean {
  const encoding = headers['content-encoding'] ?? ''
  const sha = String(headers['x-amz-content-sha256'] ?? '')
  return /(^|,)\s*aws-chunked\s*(,|$)/i.test(encoding) || sha.startsWith('STREAMING-')
}

/** Strips the framing of an aws-chunked body: `hex[;ext]\r\n data \r\n … 0\r\n trailers \r\n`. */
class AwsChunkedDecoder extends Transform {
  // State machine: 'size' reads a chunk-size line; 'data' passes #remaining
  // bytes; 'dataEnd' expects the CRLF after the data; 'trailer' reads header
  // lines until an empty one; 'done' ignores anything after.
  #state: 'size' | 'data' | 'dataEnd' | 'trailer' | 'done' = 'size'
  #remaining = 0
  #pending: Buffer = Buffer.alloc(0)

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(Buffer.concat([this.#pending, chunk]))
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  override _flush(callback: TransformCallback): void {
    const complete = this.#state === 'done' || (this.#state === 'trailer' && this.#pending.length === 0)
    callback(complete ? null : new AwsChunkedDecodeError(`aws-chunked body ended inside a ${this.#state}`))
  }

  #consume(input: Buffer): void {
    let buf = input
    while (buf.length > 0 && this.#state !== 'done') {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, buf.length)
        this.push(buf.subarray(0, take))
        this.#remaining -= take
        buf = buf.subarray(take)
        if (this.#remaining === 0) this.#state = 'dataEnd'
        continue
      }
      const eol = buf.indexOf(CRLF)
      if (eol === -1) {
        if (buf.length > MAX_LINE_BYTES) throw new AwsChunkedDecodeError('aws-chunked line too long')
        break
      }
      this.#line(buf.subarray(0, eol).toString('latin1'))
      buf = buf.subarray(eol + CRLF.length)
    }
    this.#pending = this.#state === 'done' ? Buffer.alloc(0) : Buffer.from(buf)
  }

  #line(line: string): void {
    switch (this.#state) {
      case 'size': {
        const size = Number.parseInt(line.split(';')[0] ?? '', 16)
        if (!Number.isSafeInteger(size) || size < 0) {
          throw new AwsChunkedDecodeError(`bad aws-chunked size line '${line}'`)
        }
        this.#remaining = size
        this.#state = size === 0 ? 'trailer' : 'data'
        return
      }
      case 'dataEnd':
        if (line !== '') throw new AwsChunkedDecodeError('aws-chunked data not followed by CRLF')
        this.#state = 'size'
        return
      case 'trailer':
        if (line === '') this.#state = 'done'
        return // trailing checksums are not verified
      default:
        return
    }
  }
}

/**
 * Makes s3rver's PutObject/UploadPart handler read the decoded body: swaps
 * ctx.req for the decoder and rewrites the headers s3rver stores.
 */
export function decodeAwsChunkedUpload(ctx: KoaContext): void {
  const headers = ctx.headers
  const remaining = String(headers['content-encoding'] ?? '')
    .split(',')
    .map(part => part.trim())
    .filter(part => part !== '' && part.toLowerCase() !== 'aws-chunked')
  if (remaining.length === 0) delete headers['content-encoding']
  else headers['content-encoding'] = remaining.join(', ')
  const decodedLength = headers['x-amz-decoded-content-length']
  if (typeof decodedLength === 'string') headers['content-length'] = decodedLength

  const request = ctx.req
  const decoder = new AwsChunkedDecoder()
  decoder.once('error', () => {
    // s3rver's store waits for its own pipeline to finish and never hears of a
    // source error, so the only clean end is to drop the connection.
    request.socket.destroy()
  })
  request.pipe(decoder)
  // s3rver only pipes ctx.req; a Transform is all of IncomingMessage it uses.
  ctx.req = decoder as unknown as IncomingMessage
}
