/**
 * S3's limits on writes and the sizes and deadlines our uploads derive from them.
 * The SDK client applies them; the write path asks the client (`ObjectClient.uploadBufferBytes`)
 * rather than reading them here, so it never depends on the concrete client.
 */

const MiB = 1024 * 1024
/** S3's limits: at most 10,000 parts, each at least 5 MiB (but the last), CopyObject up to 5 GiB. */
const MAX_PARTS = 10_000
const MIN_PART_BYTES = 8 * MiB // 8 MiB parts: S3's sweet spot for throughput per connection
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 * MiB
export const COPY_PART_BYTES = 512 * MiB // server-side: large parts, few requests
/** Parts of one upload in flight at once (S3 serves ~80-90 MB/s per connection); lib-storage buffers this many parts in memory. */
export const UPLOAD_PART_CONCURRENCY = 8
/** Uploads and copies move many bytes: they get a longer deadline than reads... */
export const WRITE_DEADLINE_MS = 600_000
/** ...and a large upload more: it may not go slower than 1 MiB/s on average. */
const MIN_UPLOAD_BYTES_PER_MS = MiB / 1000

/** An upload may take WRITE_DEADLINE_MS, more when large: an integer number of ms however large the file. */
export function uploadDeadlineMs(size: number): number {
  return Math.ceil(Math.max(WRITE_DEADLINE_MS, size / MIN_UPLOAD_BYTES_PER_MS))
}

/** Part size so that MAX_PARTS parts cover `size`, never below MIN_PART_BYTES, rounded to MiB. */
export function uploadPartSize(size: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MiB) * MiB)
}

/** Memory lib-storage's part buffers hold at most while uploading `size` bytes. */
export function uploadBufferBytes(size: number): number {
  return Math.min(size, uploadPartSize(size) * UPLOAD_PART_CONCURRENCY)
}
