/**
 * The filesystem's semantics, as plain TypeScript that tests can drive without a mount.
 *
 * Paths map to S3 keys through the MetadataStore; file contents come from the
 * BlockReader, or from the WriteBack's staged file when the path has unuploaded
 * writes (read-your-writes). A read handle pins the object version (ETag) seen at
 * open, so a reader never mixes bytes of two versions: if the object changes while
 * open, reads fail with PreconditionFailedError (ESTALE) and the path's metadata is
 * dropped so the next open sees the new version. Namespace changes (mkdir, rmdir,
 * unlink, rename) live in NamespaceOps. The FUSE adapter only converts arguments
 * and errors.
 */
import { constants as fsConstants } from 'node:fs'
import type { Logger } from 'pino'
import type { BlockReader, ObjectVersion } from '../cache/block-reader.js'
import { FileReader, type FileReaderConfig } from '../cache/file-reader.js'
import {
  BadHandleError, FileTooLargeError, HardLinkError, InvalidNameError, IsADirectoryError, NotSupportedError, NotADirectoryError, NotFoundError,
  PreconditionFailedError, ReadOnlyError,
} from '../errors.js'
import type { Entry } from '../metadata/entry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { parentOf, pathToKey } from '../metadata/paths.js'
import type { DirtyFile, Snapshot } from '../write/dirty-file.js'
import type { WriteBack } from '../write/write-back.js'
import { NamespaceOps, type NamespaceLimits } from './namespace-ops.js'
import { AttributeOps } from './attribute-ops.js'
import { entryStat, fileStat, type FileStat } from './file-stat.js'
import { S_IFDIR, S_IFREG } from '../metadata/s3fs-attributes.js'
import type { ObjectClient } from '../s3/object-client.js'

export interface FilesystemConfig {
  readonly uid: number
  readonly gid: number
  readonly fileMode: number
  readonly dirMode: number
  readonly readOnly: boolean
  readonly fileReader: FileReaderConfig
  /** Files up to this size are put in the block cache after upload, so reading them back costs no GET. */
  readonly adoptMaxBytes: number
  readonly namespace: NamespaceLimits
}

export type { FileStat } from './file-stat.js'

/**
 * Reads the FUSE binding answers itself, on its own threads, without the core: a
 * handle whose object is one block on local disk is registered with the block file's
 * path, and the binding reads and checks it (falling back to `readInto` when it
 * cannot). The event loop then sees no read of a warm small file at all.
 */
export interface DirectReads {
  /** Serves reads of `fh` from the block files `prefix` + index (an object of `size` bytes); false if refused. */
  register(fh: number, prefix: string, size: number, blockSize: number): boolean
  unregister(fh: number): void
  /** Registered handles whose release the binding answered itself since the last call. */
  takeReleased(): number[]
  stats(): DirectReadStats
}

export interface DirectReadStats {
  /** Reads answered by the binding, and their bytes. */
  readonly reads: number
  readonly bytes: number
  /** Reads of registered handles the binding handed back (block evicted or corrupt). */
  readonly fallbacks: number
  /** Block files the binding read and checked (each a disk-cache hit). */
  readonly blocks: number
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

/** An open file: a clean read of one object version, or a handle on staged writes. */
type FileHandle =
  | { readonly kind: 'clean'; readonly path: string; readonly reader: FileReader; direct?: boolean }
  | { readonly kind: 'dirty'; readonly path: string; readonly file: DirtyFile }

/**
 * An object store has no meaningful capacity: report a large, stable one, as peers do.
 * fuse-native passes statfs fields through 32-bit integers, so each must stay below 2^32:
 * 2^30 blocks of 1 MiB is 1 PiB, and 2^30 free inodes.
 */
const STATFS_BLOCK = 2 ** 20
const STATFS_BLOCKS = 2 ** 30
const STATFS_FILES = 2 ** 30
/** chown(2)'s "leave unchanged" ((uid_t)-1), as fuse-native passes it. */
const ID_UNCHANGED = 0xffffffff

/** Linux's O_ACCMODE (Node's fs.constants does not export it). */
const O_ACCMODE = 3
/** Linux's NAME_MAX: bytes in one path component. */
const NAME_MAX = 255
/** S3's limit on one object: 5 TiB. A larger size or offset is EFBIG. */
const MAX_FILE_BYTES = 5 * 2 ** 40

export function wantsWrite(flags: number): boolean {
  return (flags & O_ACCMODE) !== fsConstants.O_RDONLY || (flags & fsConstants.O_TRUNC) !== 0
}

export class FilesystemCore {
  readonly #config: FilesystemConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #writes: WriteBack
  readonly #log: Logger
  readonly #namespace: NamespaceOps
  readonly #attributes: AttributeOps
  readonly #handles = new Map<number, FileHandle>()
  /** Told of every open for reading of a clean object (cross-file prefetch). */
  #openListener: (path: string, version: ObjectVersion) => void = () => {}
  #nextHandle = 1
  #directReads: DirectReads | undefined

  constructor(config: FilesystemConfig, metadata: MetadataStore, reader: BlockReader, writes: WriteBack, client: ObjectClient, log: Logger) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#writes = writes
    this.#log = log
    this.#namespace = new NamespaceOps(config.namespace, metadata, writes, client, log)
    this.#attributes = new AttributeOps(config, metadata, writes, reader, client, log)
    writes.listener = {
      uploaded: (file, etag, snap) => this.#uploaded(file, etag, snap),
      dropped: path => this.#metadata.invalidate(path),
    }
  }

  /** Set by the FUSE adapter when its binding can answer reads of cached blocks itself. */
  set directReads(direct: DirectReads | undefined) {
    this.#directReads = direct
  }

  /** Forgets the handles whose release the binding answered (called at each open and on a timer). */
  forgetReleased(): void {
    if (this.#directReads === undefined) return
    for (const fh of this.#directReads.takeReleased()) this.#handles.delete(fh)
  }

  directReadStats(): DirectReadStats {
    return this.#directReads?.stats() ?? { reads: 0, bytes: 0, fallbacks: 0, blocks: 0 }
  }

  set openListener(listener: (path: string, version: ObjectVersion) => void) {
    this.#openListener = listener
  }

  /**
   * fstat(2) of an open handle: what its path shows, or, for a file unlinked while open
   * (libfuse then passes no path), the handle's own file: staged bytes or the version it reads.
   */
  async fgetattr(fh: number, path: string): Promise<FileStat> {
    const handle = this.#handles.get(fh)
    if (handle?.kind === 'dirty' && (path === '' || handle.file.unlinked)) {
      return fileStat(this.#config, handle.file.size, handle.file.mtimeMs, handle.file.attrs)
    }
    if (handle?.kind === 'clean' && path === '') {
      return fileStat(this.#config, handle.reader.version.size, Date.now(), undefined)
    }
    return this.getattr(path)
  }

  async getattr(path: string): Promise<FileStat> {
    checkName(path)
    const dirty = this.#writes.get(path)
    if (dirty !== undefined) return fileStat(this.#config, dirty.size, dirty.mtimeMs, dirty.attrs)
    const entry = await this.#metadata.stat(path)
    return entryStat(this.#config, entry, entry.kind === 'dir' ? this.#metadata.subdirCount(path) : undefined)
  }

  /** The names in a directory, without `.` and `..` (the adapter adds them). */
  async readdir(path: string): Promise<string[]> {
    const listing = await this.#metadata.readdir(path)
    const names = [...listing.children.keys()]
    for (const f of this.#writes.childrenOf(path)) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1)
      if (!listing.children.has(name)) names.push(name)
    }
    return names
  }

  async opendir(path: string): Promise<void> {
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
  }

  async open(path: string, flags: number): Promise<number> {
    checkName(path)
    const writing = wantsWrite(flags)
    if (writing) this.#checkWritable(path)
    const truncate = (flags & fsConstants.O_TRUNC) !== 0
    if (!writing) {
      await this.#writes.settled(path)
      // A path with staged writes reads them (read-your-writes).
      const staged = this.#writes.attach(path)
      if (staged !== undefined) return this.#addHandle({ kind: 'dirty', path, file: staged })
      const entry = await this.#metadata.lookup(path)
      if (entry.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
      const version = { key: entry.key, etag: entry.etag, size: entry.size }
      this.#openListener(path, version)
      this.forgetReleased()
      const handle: FileHandle = { kind: 'clean', path, reader: new FileReader(this.#reader, version, this.#config.fileReader) }
      const fh = this.#addHandle(handle)
      const blocks = this.#directReads === undefined ? undefined : this.#reader.directReadPrefix(version)
      if (blocks !== undefined) handle.direct = this.#directReads?.register(fh, blocks.prefix, version.size, blocks.blockSize) === true
      return fh
    }
    const file = await this.#writes.open(path, pathToKey(path), this.#fillFromBucket(path, size => (truncate ? 0 : size)))
    const fh = this.#addHandle({ kind: 'dirty', path, file })
    if (truncate) await this.#truncateOrRelease(fh, file, 0)
    return fh
  }

  async create(path: string, mode = this.#config.fileMode): Promise<number> {
    checkName(path)
    this.#checkWritable(path)
    const parent = await this.#metadata.lookup(parentOf(path))
    if (parent.kind !== 'dir') throw new NotADirectoryError(`${parentOf(path)} is not a directory`)
    const existed = this.#writes.get(path) !== undefined
    const file = await this.#writes.open(path, pathToKey(path))
    if (!existed) file.attrs = this.#attributes.newAttributes(S_IFREG | (mode & 0o7777))
    const fh = this.#addHandle({ kind: 'dirty', path, file })
    // create(2) of a staged path empties it, as before staging was per path; a new one is empty already.
    if (existed) await this.#truncateOrRelease(fh, file, 0)
    this.#metadata.noteCreating(path)
    return fh
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const target = Buffer.allocUnsafe(length)
    return target.subarray(0, await this.readInto(fh, offset, length, target))
  }

  /** Reads into `target` (the kernel's reply buffer); resolves with the bytes read. */
  async readInto(fh: number, offset: number, length: number, target: Buffer): Promise<number> {
    const handle = this.#handle(fh)
    if (handle.kind === 'dirty') return (await handle.file.read(offset, length)).copy(target)
    try {
      return await handle.reader.readInto(offset, length, target)
    } catch (err) {
      if (err instanceof PreconditionFailedError || err instanceof NotFoundError) {
        // The object changed or vanished under an open handle: forget it so the next open is fresh.
        this.#metadata.invalidate(handle.path)
        this.#log.info({ path: handle.path, code: err.code }, 'object changed in the bucket while open')
      }
      throw err
    }
  }

  async write(fh: number, data: Buffer, offset: number): Promise<number> {
    if (offset + data.length > MAX_FILE_BYTES) throw new FileTooLargeError(`${this.#handle(fh).path}: beyond the largest object S3 stores (5 TiB)`)
    return this.#writes.write(this.#dirtyHandle(fh), data, offset)
  }

  /** close(2) of one descriptor: written data is uploaded (sync) or scheduled (async). */
  async flush(fh: number): Promise<void> {
    const handle = this.#handle(fh)
    if (handle.kind === 'dirty') await this.#writes.closed(handle.file)
  }

  /** fsync(2): the bytes are in the bucket when this returns, in either write mode. */
  async fsync(fh: number): Promise<void> {
    const handle = this.#handle(fh)
    if (handle.kind === 'dirty') await this.#writes.fsync(handle.file)
  }

  async release(fh: number): Promise<void> {
    const handle = this.#handles.get(fh)
    if (handle?.kind === 'clean' && handle.direct === true) this.#directReads?.unregister(fh)
    this.#handles.delete(fh)
    if (handle?.kind === 'dirty') await this.#writes.released(handle.file)
  }

  async truncate(path: string, size: number): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    checkSize(path, size)
    const file = await this.#writes.open(path, pathToKey(path), this.#fillFromBucket(path, objectSize => Math.min(size, objectSize)))
    try {
      await this.#writes.truncate(file, size)
    } finally {
      await this.#writes.released(file)
    }
    // The kernel sends truncate(path, 0) just before open(O_TRUNC): give that open a moment to
    // attach, so the object is replaced once, by the closed file, never by an empty interim one.
    if (file.openHandles === 0 && !file.retired) this.#writes.closeSoon(file)
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    checkSize(this.#handle(fh).path, size)
    await this.#writes.truncate(this.#dirtyHandle(fh), size)
  }

  /** Times as s3fs stores them (x-amz-meta-atime/mtime); see AttributeOps. */
  async utimens(path: string, atimeMs: number | undefined, mtimeMs: number | undefined): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#attributes.set(path, { atimeMs, mtimeMs })
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.#checkWritable(path)
    await this.#attributes.set(path, { mode })
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    this.#checkWritable(path)
    await this.#attributes.set(path, { ...(uid !== ID_UNCHANGED && uid >= 0 ? { uid } : {}), ...(gid !== ID_UNCHANGED && gid >= 0 ? { gid } : {}) })
  }

  async symlink(target: string, path: string): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#attributes.symlink(target, path)
  }

  async readlink(path: string): Promise<string> {
    return this.#attributes.readlink(path)
  }

  async mknod(path: string, mode: number): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#attributes.mknod(path, mode)
  }

  async mkdir(path: string, mode = this.#config.dirMode): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    return this.#namespace.mkdir(path, this.#attributes.newAttributes(S_IFDIR | (mode & 0o7777)))
  }

  async rmdir(path: string): Promise<void> {
    this.#checkWritable(path)
    return this.#namespace.rmdir(path)
  }

  async unlink(path: string): Promise<void> {
    this.#checkWritable(path)
    return this.#namespace.unlink(path)
  }

  async rename(from: string, to: string): Promise<void> {
    checkName(to)
    this.#checkWritable(from)
    return this.#namespace.rename(from, to)
  }

  /** Hard links cannot exist in S3. */
  async refuseLink(path: string): Promise<never> {
    throw new HardLinkError(`${path}: hard links are not supported`)
  }

  async access(path: string, mode: number): Promise<void> {
    if (this.#writes.get(path) === undefined) await this.#metadata.lookup(path)
    if ((mode & fsConstants.W_OK) !== 0 && this.#config.readOnly) throw new ReadOnlyError(`${path}: read-only mount`)
  }

  statfs(): FsStats {
    return {
      bsize: STATFS_BLOCK, frsize: STATFS_BLOCK, blocks: STATFS_BLOCKS, bfree: STATFS_BLOCKS, bavail: STATFS_BLOCKS,
      files: STATFS_FILES, ffree: STATFS_FILES, favail: STATFS_FILES, namemax: NAME_MAX,
    }
  }

  get openHandles(): number {
    return this.#handles.size
  }

  #checkWritable(path: string): void {
    if (this.#config.readOnly) throw new ReadOnlyError(`${path}: read-only mount`)
  }

  /** Registers a handle; a dirty one already counts in `file.openHandles` (WriteBack.open did it). */
  #addHandle(h: FileHandle): number {
    const fh = this.#nextHandle++
    this.#handles.set(fh, h)
    return fh
  }

  /** Truncates a just-opened handle's file; on failure the handle is released and the error thrown. */
  async #truncateOrRelease(fh: number, file: DirtyFile, size: number): Promise<void> {
    try {
      await this.#writes.truncate(file, size)
    } catch (err) {
      await this.release(fh)
      throw err
    }
  }

  #handle(fh: number): FileHandle {
    const handle = this.#handles.get(fh)
    if (handle === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
    return handle
  }

  #dirtyHandle(fh: number): DirtyFile {
    const handle = this.#handle(fh)
    if (handle.kind !== 'dirty') throw new BadHandleError(`file handle ${fh} is not open for writing`)
    return handle.file
  }

  /** Fills a new staged file from the object at `path` (its first `bytes(size)` bytes); fails for a directory or nothing. */
  #fillFromBucket(path: string, bytes: (objectSize: number) => number): (file: DirtyFile) => Promise<void> {
    return async file => {
      const entry = await this.#metadata.lookup(path)
      if (entry.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
      // Its upload must keep the object's mode, owners and other clients' headers: read them (one HEAD).
      await this.#attributes.adoptHeaders(file, entry.key)
      await this.#copyIn({ key: entry.key, etag: entry.etag, size: entry.size }, file, bytes(entry.size))
    }
  }

  /** Copies the first `size` bytes of an object into a new staged file, part by part. */
  async #copyIn(version: ObjectVersion, file: DirtyFile, size: number): Promise<void> {
    const step = 8 * 1024 * 1024
    for (let pos = 0; pos < size; pos += step) {
      await file.fill(await this.#reader.read(version, pos, Math.min(step, size - pos)), pos)
    }
  }

  /** The exact bytes of `snap` are in the bucket as `etag`: remember them, and cache them (no GET to read back). */
  async #uploaded(file: DirtyFile, etag: string, snap: Snapshot): Promise<void> {
    const version = { key: file.key, etag, size: snap.size }
    this.#metadata.noteFile(file.path, { ...version, mtimeMs: snap.mtimeMs, attrs: { ...file.attrs, mtimeMs: snap.mtimeMs } })
    if (snap.size <= this.#config.adoptMaxBytes) {
      await this.#reader.adopt(version, (pos, len) => snap.data.read(pos, len)).catch((err: unknown) =>
        this.#log.warn({ err, path: file.path }, 'could not cache an uploaded file'))
    }
  }
}

/** ENAMETOOLONG for a component over NAME_MAX bytes (the kernel lets up to 1024 through). */
function checkName(path: string): void {
  if (path.length <= NAME_MAX && Buffer.byteLength(path) <= NAME_MAX) return
  for (const part of path.split('/')) {
    if (Buffer.byteLength(part) > NAME_MAX) throw new InvalidNameError(`${part.slice(0, 40)}…: a name is longer than ${NAME_MAX} bytes`)
  }
}

function checkSize(path: string, size: number): void {
  if (size > MAX_FILE_BYTES) throw new FileTooLargeError(`${path}: ${size} bytes is more than the largest object S3 stores (5 TiB)`)
}
