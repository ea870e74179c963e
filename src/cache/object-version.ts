/**
 * One version of one object as a reader opened it, and how it divides into blocks:
 * block i holds bytes [i × blockSize, min(size, (i + 1) × blockSize)).
 */
export interface ObjectVersion {
  readonly key: string
  readonly etag: string
  readonly size: number
}

export function blockCount(obj: ObjectVersion, blockSize: number): number {
  return Math.ceil(obj.size / blockSize)
}

export function blockLength(obj: ObjectVersion, index: number, blockSize: number): number {
  return Math.min(blockSize, obj.size - index * blockSize)
}
