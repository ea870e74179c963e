/**
 * AbortMultipartUpload, which s3rver 3.7.1 routes to 405 MethodNotAllowed
 * (its DELETE-object route knows no `uploadId`). Uploads in flight live in
 * s3rver's store as `<bucket>/._S3rver_uploads/<uploadId>/`; aborting removes
 * that directory and answers 204, or 404 NoSuchUpload as S3 does.
 */
import { rm, stat } from 'node:fs/promises'
import path from 'node:path'
import type { KoaContext } from 's3rver'
import { sendS3Error } from '../s3-xml.js'

// s3rver makes upload ids of 32 hex digits; anything else cannot name an upload (nor escape the store).
const UPLOAD_ID = /^[0-9a-f]{1,64}$/i

export async function serveAbortMultipartUpload(ctx: KoaContext, bucket: string, uploadId: string): Promise<void> {
  const dir = path.join(ctx.app.store.getResourcePath(bucket, undefined, 'uploads'), uploadId)
  const exists =
    UPLOAD_ID.test(uploadId) &&
    (await stat(dir).then(
      s => s.isDirectory(),
      () => false,
    ))
  if (!exists) {
    sendS3Error(ctx, {
      status: 404,
      code: 'NoSuchUpload',
      message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      detail: { UploadId: uploadId },
    })
    return
  }
  await rm(dir, { recursive: true, force: true })
  ctx.status = 204
}
