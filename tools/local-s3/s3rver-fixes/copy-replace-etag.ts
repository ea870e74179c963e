/**
 * The ETag of a CopyObject with `x-amz-metadata-directive: REPLACE` onto another key that
 * exists, which s3rver 3.7.1 gets wrong: it copies the content and writes the new metadata
 * but keeps the destination's MD5 sidecar (`<key>._S3rver_object.md5`), so the copy's answer,
 * HEAD, GET and If-Match give the replaced object's ETag for the new content (a client that
 * checks bodies against MD5 ETags then sees every read as corrupt). S3 gives a copy the ETag
 * of its content. Before s3rver copies, we remove the destination's sidecar; s3rver then
 * computes it from the copied content. A copy onto itself keeps its content and its sidecar.
 */
import { unlink } from 'node:fs/promises'
import type { KoaContext } from 's3rver'

/** Runs before s3rver's CopyObject handler (after normalizeCopySource). */
export async function dropStaleCopyEtag(ctx: KoaContext, bucket: string, key: string): Promise<void> {
  const source = ctx.headers['x-amz-copy-source']
  if (typeof source !== 'string' || ctx.headers['x-amz-metadata-directive'] !== 'REPLACE') return
  if (decodeURI(source) === `${bucket}/${key}`) return
  await unlink(ctx.app.store.getResourcePath(bucket, key, 'object.md5')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
  })
}
