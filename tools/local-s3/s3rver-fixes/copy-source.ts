/**
 * Normalises CopyObject's `x-amz-copy-source` header for s3rver.
 *
 * S3 takes the header URL-encoded, and clients commonly encode all of it,
 * slashes included (`encodeURIComponent('bucket/dir/key')`). s3rver 3.7.1
 * decodes it with decodeURI, which leaves `%2F`, `%2B`, `%3F`, `%23`… encoded,
 * so such copies fail with NoSuchBucket or copy the wrong key. We decode it
 * fully, drop a `?versionId=` (s3rver has no versions), and re-encode it with
 * encodeURI, which decodeURI inverts exactly.
 */
import type { KoaContext } from 's3rver'

export function normalizeCopySource(ctx: KoaContext): void {
  const header = ctx.headers['x-amz-copy-source']
  if (typeof header !== 'string') return
  let source: string
  try {
    source = decodeURIComponent(header.replace(/\?versionId=[^&]*$/, ''))
  } catch {
    return // not decodable: leave it for s3rver to reject
  }
  ctx.headers['x-amz-copy-source'] = encodeURI(source.startsWith('/') ? source.slice(1) : source)
}
