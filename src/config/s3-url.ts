/** Parses `s3://bucket[/prefix]` into a bucket and a key prefix that ends in `/` (or is empty). */
import { ConfigError } from '../errors.js'

export interface S3Location {
  readonly bucket: string
  /** '' for the whole bucket, otherwise ends with '/'. */
  readonly prefix: string
}

// Bucket naming rules of S3 (3–63 chars, lowercase, digits, dots, hyphens); we also
// accept underscores and capitals because some S3-compatible stores allow them.
const BUCKET_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(url)
  if (!m?.[1]) {
    throw new ConfigError(`bucket URL '${url}' is not of the form s3://BUCKET[/PREFIX]`)
  }
  const bucket = m[1]
  if (!BUCKET_RE.test(bucket)) throw new ConfigError(`bucket URL '${url}': '${bucket}' is not a valid bucket name`)
  const rawPrefix = (m[2] ?? '').replace(/^\/+/, '')
  if (rawPrefix.split('/').some((part, i, all) => part === '' && i < all.length - 1)) {
    throw new ConfigError(`bucket URL '${url}': the prefix has an empty path segment`)
  }
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : rawPrefix + '/'
  return { bucket, prefix }
}
