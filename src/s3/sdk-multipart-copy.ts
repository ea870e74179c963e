/**
 * A server-side copy of an object larger than one CopyObject takes (5 GiB): a multipart
 * upload of UploadPartCopy parts, aborted if any part fails. A multipart copy starts a
 * new object, so the caller passes the metadata and Content-Type it must carry.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { UnexpectedResponseError } from '../errors.js'
import type { ObjectMetadata } from './object-client.js'
import type { SdkCall } from './sdk-call.js'
import { stripEtag } from './get-pieces.js'
import { COPY_PART_BYTES, WRITE_DEADLINE_MS } from './upload-limits.js'

/** The CopySource header of `key` in `bucket`: each segment URI-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
}

export async function multipartCopy(
  s3: S3Client,
  bucket: string,
  call: SdkCall,
  sourceKey: string,
  destKey: string,
  size: number,
  metadata: ObjectMetadata,
  contentType: string | undefined,
): Promise<string> {
  const created = await call('CreateMultipartUpload', destKey, s =>
    s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: destKey,
        Metadata: { ...metadata },
        ...(contentType !== undefined ? { ContentType: contentType } : {}),
      }),
      s,
    ),
  )
  const uploadId = created.UploadId
  if (uploadId === undefined) throw new UnexpectedResponseError(`CreateMultipartUpload s3://${bucket}/${destKey}: no upload id`)
  try {
    const parts: Array<{ ETag: string; PartNumber: number }> = []
    for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
      const end = Math.min(size, start + COPY_PART_BYTES) - 1
      const out = await call(
        'UploadPartCopy',
        destKey,
        s =>
          s3.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: destKey,
              UploadId: uploadId,
              PartNumber: n,
              CopySource: copySource(bucket, sourceKey),
              CopySourceRange: `bytes=${start}-${end}`,
            }),
            s,
          ),
        WRITE_DEADLINE_MS,
      )
      parts.push({ ETag: out.CopyPartResult?.ETag ?? '', PartNumber: n })
    }
    const done = await call('CompleteMultipartUpload', destKey, s =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: destKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
        s,
      ),
    )
    return stripEtag(done.ETag)
  } catch (err) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: destKey, UploadId: uploadId })).catch(() => {})
    throw err
  }
}
