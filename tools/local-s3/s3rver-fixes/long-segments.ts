/**
 * Keys with segments longer than the local disk's file names. s3rver stores key `a/b/c` as
 * the files `<bucket>/a/b/c._S3rver_object` (+ `.md5`, `._S3rver_metadata.json`), so a
 * segment over ~230 bytes makes a name past NAME_MAX (255) and its write fails. Real S3
 * takes any segment within its 1,024-byte key limit, and a 255-byte file name through the
 * mount is such a key. Here a segment over MAX_PLAIN_SEGMENT_BYTES is stored under a name
 * of its SHA-256 (`._S3rver_long.<hex>`), with a sidecar `<that name>._S3rver_segment` in
 * the same directory holding the real segment, from which the listing (bucket-walk.ts)
 * names it:
 * - `getResourcePath` (every read, write, copy and delete of s3rver's store goes through it)
 *   maps long segments to their stored names;
 * - the fixes middleware records the sidecars before any write of such a key
 *   (`recordLongSegments`: PUT, copy, multipart initiate and complete);
 * - `deleteObject` is replaced: s3rver's removes empty directories by the raw key's parts
 *   (which do not exist for a hashed segment, and it would fail), ours by the stored names,
 *   and drops a sidecar once nothing is stored under its name.
 * Segments up to MAX_PLAIN_SEGMENT_BYTES are stored as before, so existing stores read the same.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rmdir, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { FilesystemStore } from 's3rver'

/** Longest segment stored under its own name: 255 minus s3rver's longest suffix (`._S3rver_metadata.json`), with slack. */
export const MAX_PLAIN_SEGMENT_BYTES = 200
const LONG_PREFIX = '._S3rver_long.'
const SIDECAR_SUFFIX = '._S3rver_segment'
const RESOURCES = ['object', 'object.md5', 'metadata.json']

/** The name a key segment is stored under. */
export function storedSegment(segment: string): string {
  return Buffer.byteLength(segment) <= MAX_PLAIN_SEGMENT_BYTES ? segment : LONG_PREFIX + createHash('sha256').update(segment).digest('hex')
}

export function hasLongSegment(key: string): boolean {
  return Buffer.byteLength(key) > MAX_PLAIN_SEGMENT_BYTES && key.split('/').some(part => Buffer.byteLength(part) > MAX_PLAIN_SEGMENT_BYTES)
}

export function storedKey(key: string): string {
  return key.split('/').map(storedSegment).join('/')
}

/** The real segment a stored name in `dirPath` stands for; undefined for a hashed name whose sidecar is gone. */
export async function realSegment(dirPath: string, name: string): Promise<string | undefined> {
  if (!name.startsWith(LONG_PREFIX)) return name
  try {
    return await readFile(path.join(dirPath, name + SIDECAR_SUFFIX), 'utf8')
  } catch {
    return undefined
  }
}

/** Writes the sidecar of every long segment of `key` (and the directories above it) before s3rver writes the key. */
export async function recordLongSegments(bucketPath: string, key: string): Promise<void> {
  const parts = key.split('/')
  let dir = bucketPath
  for (const part of parts) {
    const stored = storedSegment(part)
    if (stored !== part) {
      await mkdir(dir, { recursive: true })
      await writeFile(path.join(dir, stored + SIDECAR_SUFFIX), part)
    }
    dir = path.join(dir, stored)
  }
}

/** Makes `store` keep long segments under hashed names (see the header). */
export function installLongSegments(store: FilesystemStore): void {
  const resourcePath = store.getResourcePath.bind(store)
  store.getResourcePath = (bucket, key = '', resource) => resourcePath(bucket, storedKey(key), resource)
  store.deleteObject = async (bucket, key) => {
    await Promise.all(RESOURCES.map(async r => ignoreMissing(unlink(store.getResourcePath(bucket, key, r)))))
    const stored = storedKey(key).split('/')
    const bucketPath = store.getBucketPath(bucket)
    await dropSidecarIfUnused(path.join(bucketPath, ...stored.slice(0, -1)), stored.at(-1) ?? '')
    for (let depth = stored.length - 1; depth > 0; depth--) {
      const dir = path.join(bucketPath, ...stored.slice(0, depth))
      const left = await ignoreMissing(readdir(dir))
      if (left !== undefined && left.length > 0) return
      await ignoreMissing(rmdir(dir))
      await dropSidecarIfUnused(path.dirname(dir), stored[depth - 1] ?? '')
    }
  }
}

async function dropSidecarIfUnused(dir: string, stored: string): Promise<void> {
  if (!stored.startsWith(LONG_PREFIX)) return
  const names = (await ignoreMissing(readdir(dir))) ?? []
  if (names.some(n => n === stored || (n.startsWith(`${stored}._S3rver_`) && n !== stored + SIDECAR_SUFFIX))) return
  await ignoreMissing(unlink(path.join(dir, stored + SIDECAR_SUFFIX)))
}

async function ignoreMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
