/**
 * The ETag of a multipart object, which s3rver 3.7.1 gets wrong: it answers the MD5 of
 * the whole content, as for a single PUT. S3 answers the MD5 of the parts' binary MD5s,
 * concatenated in part order, followed by `-` and the number of parts — which is why a
 * client must not treat it as the content's MD5. After s3rver completed the upload, we
 * compute that ETag from the parts the request listed (their ETags are their MD5s) and
 * store it where s3rver keeps the object's MD5 (`<key>._S3rver_object.md5`), so HEAD,
 * GET, listings and If-Match all see `<hex>-N`, and we answer it in the result.
 */
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { KoaContext } from 's3rver'

interface ListedPart {
  PartNumber?: unknown
  ETag?: unknown
}

/** Runs after s3rver's CompleteMultipartUpload handler; leaves failures as they are. */
export async function fixMultipartEtag(ctx: KoaContext, bucket: string, key: string): Promise<void> {
  const result = (ctx.body as { CompleteMultipartUploadResult?: { ETag?: string } } | undefined)?.CompleteMultipartUploadResult
  const listed = (ctx.request.body as { CompleteMultipartUpload?: { Part?: ListedPart | ListedPart[] } } | undefined)?.CompleteMultipartUpload?.Part
  if (ctx.status !== 200 || result === undefined || listed === undefined) return
  const parts = ([] as ListedPart[]).concat(listed).sort((a, b) => Number(a.PartNumber) - Number(b.PartNumber))
  const md5 = createHash('md5')
  for (const part of parts) md5.update(Buffer.from(String(part.ETag).replace(/"/g, ''), 'hex'))
  const etag = `${md5.digest('hex')}-${parts.length}`
  await writeFile(ctx.app.store.getResourcePath(bucket, key, 'object.md5'), etag)
  result.ETag = JSON.stringify(etag)
}
