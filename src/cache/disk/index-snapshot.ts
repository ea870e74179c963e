/**
 * A snapshot of the disk cache's index, so a clean restart need not stat every block
 * file. Written at clean close (temp file, fsync, rename, fsync of the directory) as
 *
 *   0   8  magic 'S3CIDX01'
 *   8   4  block records, uint32 LE
 *  12   4  CRC-32 of the records, uint32 LE
 *  16   4  length of the directory list (JSON), uint32 LE
 *  20  12  reserved, zero
 *  32      the directory list: mtime (ns) of blocks/ and of each blocks/<aa>/
 *          then per block 36 bytes: object id (20), block index (u32), bytes (u32), stored-at ms (f64)
 *
 * INVARIANT: a snapshot describes the directory only until it is next changed. So it is
 * claimed at open before any block is written or removed (renamed to `.loading`, the
 * directory fsynced: after a crash there is no snapshot and the next start scans), and
 * trusted only if every directory's mtime is what it was when it was written (any file
 * created, renamed or removed since changes one). If a snapshot still names a file that
 * is gone, the read finds no file and is a miss (DiskBlockCache drops the block).
 */
import { type FileHandle, open, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from '../../util/crc32.js'
import { syncDir } from '../../util/sync-dir.js'
import type { BlockIndex } from '../block-index.js'
import { indexCrashPoint } from './index-crash-points.js'
import { isCanonical } from './object-table.js'

export const SNAPSHOT_FILE = 'index.snapshot'
const MAGIC = 'S3CIDX01'
const HEADER_BYTES = 32
const RECORD_BYTES = 36
const ID_BYTES = 20
/** Records per read or write (~2.3 MiB). */
const CHUNK_RECORDS = 65_536

/** A claimed snapshot: its file (renamed to `.loading`) and how many records it holds. */
export interface ClaimedSnapshot {
  readonly path: string
  readonly records: number
  readonly crc: number
  readonly dataOffset: number
}

/** mtime in ns of blocks/ and each of its sub-directories, as one comparable string map. */
async function directoryMtimes(blocksDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': (await stat(blocksDir, { bigint: true })).mtimeNs.toString() }
  const subs = (await readdir(blocksDir)).sort()
  const stats = await Promise.all(subs.map(s => stat(join(blocksDir, s), { bigint: true })))
  subs.forEach((s, i) => (out[s] = (stats[i] as { mtimeNs: bigint }).mtimeNs.toString()))
  return out
}

/**
 * Takes the snapshot out of the way (any change to the directory from now on makes it
 * stale) and returns it if it is whole and the directory has not changed since it was written.
 */
export async function claimSnapshot(cacheDir: string, blocksDir: string): Promise<ClaimedSnapshot | undefined> {
  const path = join(cacheDir, SNAPSHOT_FILE)
  const loading = `${path}.loading`
  // Left by a start that crashed while loading, or a close that crashed while writing.
  await Promise.all([rm(loading, { force: true }), rm(`${path}.tmp`, { force: true })])
  try {
    await rename(path, loading)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  await syncDir(cacheDir)
  indexCrashPoint('after-index-snapshot-claim')
  const fh = await open(loading, 'r')
  try {
    const header = Buffer.alloc(HEADER_BYTES)
    await fh.read(header, 0, HEADER_BYTES, 0)
    if (header.toString('latin1', 0, 8) !== MAGIC) return await discard(loading)
    const records = header.readUInt32LE(8)
    const dirsLength = header.readUInt32LE(16)
    const dirs = Buffer.alloc(dirsLength)
    await fh.read(dirs, 0, dirsLength, HEADER_BYTES)
    const size = (await fh.stat()).size
    if (size !== HEADER_BYTES + dirsLength + records * RECORD_BYTES) return await discard(loading)
    if (dirs.toString('utf8') !== JSON.stringify(await directoryMtimes(blocksDir))) return await discard(loading)
    return { path: loading, records, crc: header.readUInt32LE(12), dataOffset: HEADER_BYTES + dirsLength }
  } finally {
    await fh.close()
  }
}

/**
 * Adds the snapshot's blocks to the index (`restore`), after checking the CRC of all
 * records (a first pass: nothing is added from a damaged file). False if it is damaged.
 * The file is removed either way.
 */
export async function loadSnapshot(snap: ClaimedSnapshot, index: BlockIndex, stopping: () => boolean): Promise<boolean> {
  const fh = await open(snap.path, 'r')
  try {
    let crc = 0
    await eachChunk(fh, snap, chunk => (crc = crc32(chunk, crc)))
    if (crc !== snap.crc) return false
    return await eachChunk(
      fh,
      snap,
      chunk => {
        for (let o = 0; o < chunk.length; o += RECORD_BYTES) {
          const id = chunk.toString('hex', o, o + ID_BYTES)
          index.restore(id, chunk.readUInt32LE(o + 20), chunk.readUInt32LE(o + 24), chunk.readDoubleLE(o + 28))
        }
      },
      stopping,
    )
  } finally {
    await fh.close()
    await rm(snap.path, { force: true })
  }
}

/** Writes the index as the snapshot; false (and no snapshot) if a block's id cannot be packed. */
export async function writeSnapshot(cacheDir: string, blocksDir: string, index: BlockIndex): Promise<boolean> {
  const path = join(cacheDir, SNAPSHOT_FILE)
  const tmp = `${path}.tmp`
  const dirs = Buffer.from(JSON.stringify(await directoryMtimes(blocksDir)))
  const fh = await open(tmp, 'w')
  let ok = true
  try {
    let pos = HEADER_BYTES + dirs.length
    await fh.write(dirs, 0, dirs.length, HEADER_BYTES)
    let chunk = Buffer.allocUnsafe(CHUNK_RECORDS * RECORD_BYTES)
    let used = 0
    let records = 0
    let crc = 0
    const flush = async (): Promise<void> => {
      await fh.write(chunk, 0, used, pos)
      crc = crc32(chunk.subarray(0, used), crc)
      pos += used
      used = 0
      chunk = Buffer.allocUnsafe(chunk.length)
    }
    for (const { objectId, blocks } of index.views.allBlocks()) {
      if (!isCanonical(objectId)) ok = false
      for (const b of blocks) {
        chunk.write(objectId, used, ID_BYTES, 'hex')
        chunk.writeUInt32LE(index.indexOf(b), used + 20)
        chunk.writeUInt32LE(index.bytesOf(b), used + 24)
        chunk.writeDoubleLE(index.storedAtOf(b), used + 28)
        used += RECORD_BYTES
        records++
        if (used === chunk.length) await flush()
      }
    }
    await flush()
    const header = Buffer.alloc(HEADER_BYTES)
    header.write(MAGIC, 0, 'latin1')
    header.writeUInt32LE(records, 8)
    header.writeUInt32LE(crc, 12)
    header.writeUInt32LE(dirs.length, 16)
    await fh.write(header, 0, HEADER_BYTES, 0)
    await fh.sync()
  } finally {
    await fh.close()
  }
  if (!ok) {
    await rm(tmp, { force: true })
    return false
  }
  indexCrashPoint('after-index-snapshot-temp')
  await rename(tmp, path)
  await syncDir(cacheDir)
  return true
}

/** Reads the records in chunks; false if `stopping` turned true on the way. */
async function eachChunk(fh: FileHandle, snap: ClaimedSnapshot, visit: (chunk: Buffer) => void, stopping = () => false): Promise<boolean> {
  const buf = Buffer.allocUnsafe(CHUNK_RECORDS * RECORD_BYTES)
  const end = snap.dataOffset + snap.records * RECORD_BYTES
  for (let pos = snap.dataOffset; pos < end;) {
    if (stopping()) return false
    const want = Math.min(buf.length, end - pos)
    const { bytesRead } = await fh.read(buf, 0, want, pos)
    if (bytesRead !== want) return false
    visit(buf.subarray(0, want))
    pos += want
  }
  return true
}

async function discard(path: string): Promise<undefined> {
  await rm(path, { force: true })
  return undefined
}
