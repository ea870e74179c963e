// Minimal AWS Signature V4 for the benchmark's own S3 requests (uploads,
// direct GETs, link calibration). The product's S3 client lives in src/s3 and
// is deliberately not reused: the harness must measure the product from the
// outside, and its "direct GET" limit must not inherit the product's choices.
// Payloads are sent as UNSIGNED-PAYLOAD, which S3 accepts for any method.
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

/** The local server's fixed development credentials (the same the product is given). */
export const LOCAL_CREDENTIALS: Credentials = Object.freeze({
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  region: 'us-east-1',
});

/** S3's URI encoding: RFC 3986 unreserved characters stay, everything else is %XX. */
export function s3Encode(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export interface SignInput {
  readonly method: string;
  /** Already-encoded path, e.g. `/bucket/train/a.JPEG`. */
  readonly path: string;
  readonly query: ReadonlyArray<readonly [string, string]>;
  readonly host: string;
  readonly now?: Date;
}

/** Returns the headers to add to the request (Authorization, x-amz-date, x-amz-content-sha256). */
export function signRequest(input: SignInput, creds: Credentials = LOCAL_CREDENTIALS): Record<string, string> {
  const amzDate = (input.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = 'UNSIGNED-PAYLOAD';
  const canonicalQuery = input.query
    .map(([k, v]) => `${s3Encode(k, false)}=${s3Encode(v, false)}`)
    .sort()
    .join('&');
  const canonicalHeaders = `host:${input.host}\nx-amz-content-sha256:${payloadHash}\nx-amz-date:${amzDate}\n`;
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonicalRequest = [input.method, input.path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), creds.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payloadHash,
  };
}
