/**
 * The filesystem's semantics, as plain TypeScript that tests can drive without a mount.
 *
 * Paths map to S3 keys through the MetadataStore; file contents come from the
 * BlockReader. An open file handle pins the object version (ETag) seen at open, so
 * a reader never mixes bytes of two versions: if the object changes while open,
 * reads fail with PreconditionFailedError (ESTALE) and the path's metadata is
 * dropped so the next open sees the new version. The FUSE adapter only converts
 * arguments and errors; everything else lives here.
 */
import { constants as fsConstants } from 'node:fs'
import type { Logger } from 'pino'
import type { BlockReader, ObjectVersion } from '../cache/block-reader.js'
import { ReadAhead, type ReadAheadConfig } from '../cache/read-ahead.js'
import { BadHandleError, IsADirectoryError, NotADirectoryError, NotFoundError, PreconditionFailedError, ReadOnlyError } from '../errors.js'
import type { Entry } from '../metadata/entry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'

export interface FilesystemConfig {
  readonly uid: number
  readonly gid: number
  readonly fileMode: number
  readonly dirMode: number
  readonly readOnly: boolean
  readonly readAhead: ReadAheadConfig
}

export interface FileStat {
  readonly mode: number
  readonly size: number
  readonly mtimeMs: number
  readonly nlink: number
  readonly uid: number
  readonly gid: number
}

export interface FsStats {
  readonly bsize: number
  readonly frsize: number
  readonly blocks: number
  readonly bfree: number
  readonly bavail: number
  readonly files: number
  readonly ffree: number
  readonly favail: number
  readonly namemax: number
}

interface FileHandle {
  readonly path: string
  readonly version: ObjectVersion
  readonly readAhead: ReadAhead
}

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const STATFS_BLOCK = 4096
/** An object store has no meaningful capacity: report a large, stable number, as peers do. */
const STATFS_BLOCKS = 2 ** 40 / STATFS_BLOCK * 1024
const WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_RDWR | fsConstants.O_TRUNC | fsConstants.O_APPEND | fsConstants.O_CREAT

export class FilesystemCore {
  readonly #config: FilesystemConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #log: Logger
  readonly #handles = new Map<number, FileHandle>()
  #nextHandle = 1

  constructor(config: FilesystemConfig, metadata: MetadataStore, reader: BlockReader, log: Logger) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#log = log
  }

  async getattr(path: string): Promise<FileStat> {
    return this.#statOf(await this.#metadata.lookup(path))
  }

  /** The names in a directory, without `.` and `..` (the adapter adds them). */
  async readdir(path: string): Promise<string[]> {
    const listing = await this.#metadata.readdir(path)
    return [...listing.children.keys()]
  }

  async opendir(path: string): Promise<void> {
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
  }

  async open(path: string, flags: number): Promise<number> {
    if ((flags & WRITE_FLAGS) !== 0) throw new ReadOnlyError(`${path}: this mount does not support writing yet`)
    const entry = await this.#metadata.lookup(path)
    if (entry.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
    const fh = this.#nextHandle++
    this.#handles.set(fh, {
      path,
      version: { key: entry.key, etag: entry.etag, size: entry.size },
      readAhead: new ReadAhead(this.#config.readAhead),
    })
    return fh
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const handle = this.#handles.get(fh)
    if (handle === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
    const { version } = handle
    const ahead = handle.readAhead.onRead(offset, length, version.size)
    try {
      const data = await this.#reader.read(version, offset, length)
      if (ahead !== undefined) this.#reader.prefetch(version, ahead.start, ahead.endExclusive)
      return data
    } catch (err) {
      if (err instanceof PreconditionFailedError || err instanceof NotFoundError) {
        // The object changed or vanished under an open handle: forget it so the next open is fresh.
        this.#metadata.invalidate(handle.path)
        this.#log.info({ path: handle.path, code: err.code }, 'object changed in the bucket while open')
      }
      throw err
    }
  }

  release(fh: number): void {
    this.#handles.delete(fh)
  }

  /** Every modifying operation: the write path does not exist yet. */
  async refuseWrite(path: string): Promise<never> {
    throw new ReadOnlyError(`${path}: this mount does not support writing yet`)
  }

  async access(path: string, mode: number): Promise<void> {
    await this.#metadata.lookup(path)
    if ((mode & fsConstants.W_OK) !== 0 && this.#config.readOnly) throw new ReadOnlyError(`${path}: read-only mount`)
  }

  statfs(): FsStats {
    return {
      bsize: STATFS_BLOCK, frsize: STATFS_BLOCK, blocks: STATFS_BLOCKS, bfree: STATFS_BLOCKS, bavail: STATFS_BLOCKS,
      files: 2 ** 32, ffree: 2 ** 32, favail: 2 ** 32, namemax: 255,
    }
  }

  get openHandles(): number {
    return this.#handles.size
  }

  #statOf(entry: Entry): FileStat {
    const base = { uid: this.#config.uid, gid: this.#config.gid, mtimeMs: entry.mtimeMs }
    return entry.kind === 'dir'
      ? { ...base, mode: S_IFDIR | this.#config.dirMode, size: 4096, nlink: 2 }
      : { ...base, mode: S_IFREG | this.#config.fileMode, size: entry.size, nlink: 1 }
  }
}
