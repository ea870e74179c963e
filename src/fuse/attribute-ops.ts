/**
 * Operations on attributes and on the objects s3fs-fuse uses for non-regular files, stored
 * the way s3fs stores them so that either tool reads what the other wrote:
 *
 * - chmod, chown, utimens of an object with nothing staged: a server-side copy onto itself
 *   with the complete new attribute set (metadata directive REPLACE); of a file being
 *   written: kept on its DirtyFile and carried by its upload; of a directory: its `dir/`
 *   marker written again with the new headers (a marker is empty); of the root: in memory.
 * - symlink: an object whose body is the target, mode S_IFLNK | 0777; readlink reads it
 *   through the block cache.
 * - mknod: a zero-byte object whose mode carries S_IFIFO, S_IFCHR, S_IFBLK or S_IFSOCK
 *   (s3fs keeps no device number: st_rdev reads 0).
 */
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import { AlreadyExistsError, InvalidArgumentError, NotADirectoryError, NotFoundError, NotSupportedError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { parentOf, pathToKey, pathToPrefix, isRoot } from '../metadata/paths.js'
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, mergeAttributes, toS3fsMetadata, type PosixAttributes } from '../metadata/s3fs-attributes.js'
import type { ObjectClient } from '../s3/object-client.js'
import type { DirtyFile } from '../write/dirty-file.js'
import type { WriteBack } from '../write/write-back.js'
import { attributesOf, entryStat, isType, type StatDefaults } from './file-stat.js'

/** Linux's PATH_MAX: the longest symlink target readlink can return. */
const PATH_MAX = 4096
const SPECIAL_TYPES = new Set([S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK, S_IFREG])

export class AttributeOps {
  readonly #defaults: StatDefaults
  readonly #metadata: MetadataStore
  readonly #writes: WriteBack
  readonly #reader: BlockReader
  readonly #client: ObjectClient
  readonly #log: Logger

  constructor(defaults: StatDefaults, metadata: MetadataStore, writes: WriteBack, reader: BlockReader, client: ObjectClient, log: Logger) {
    this.#defaults = defaults
    this.#metadata = metadata
    this.#writes = writes
    this.#reader = reader
    this.#client = client
    this.#log = log
  }

  /** Attributes of a new object created by the mounting user now (s3fs writes all of these). */
  newAttributes(mode: number, nowMs = Date.now()): PosixAttributes {
    return { mode, uid: this.#defaults.uid, gid: this.#defaults.gid, mtimeMs: nowMs, atimeMs: nowMs, ctimeMs: nowMs }
  }

  /** chmod/chown/utimens: `change` holds the fields to set; ctime becomes now, as on any filesystem. */
  async set(path: string, change: PosixAttributes): Promise<void> {
    const full = mergeAttributes(change, { ctimeMs: Date.now() })
    this.#log.debug({ path, change }, 'set attributes')
    const staged = this.#writes.get(path)
    // A staged file retired meanwhile (its last handle released) is an object again: set it as one.
    if (staged !== undefined && await this.#setStaged(staged, full)) return
    const entry = await this.#metadata.stat(path, true)
    const subdirs = entry.kind === 'dir' ? this.#metadata.subdirCount(path) : undefined
    const current = attributesOf(entryStat(this.#defaults, entry, subdirs))
    const attrs = mergeAttributes(current, keepType(full, current.mode ?? 0))
    if (entry.kind === 'dir') {
      if (!isRoot(path)) await this.#client.upload({ key: pathToPrefix(path), size: 0, metadata: toS3fsMetadata(attrs) })
      this.#metadata.noteDirAttributes(path, attrs)
      return
    }
    const etag = await this.#client.copy(entry.key, entry.key, entry.size, toS3fsMetadata(attrs))
    this.#metadata.noteFile(path, { key: entry.key, size: entry.size, etag, mtimeMs: entry.mtimeMs, attrs })
    this.#log.debug({ path }, 'attributes stored')
  }

  /**
   * A file with staged writes: its next upload carries the attributes. If none is due (its
   * bytes are all in the bucket), they are copied onto the object now, after any upload in
   * flight (uploads of one file run in order), so they are not lost when nothing else changes.
   */
  async #setStaged(file: DirtyFile, change: PosixAttributes): Promise<boolean> {
    file.attrs = mergeAttributes(file.attrs, stripType(change))
    if (change.mtimeMs !== undefined) file.touch(change.mtimeMs)
    return file.serialize(async () => {
      if (file.retired) return false
      if (!file.clean || file.unlinked) return true
      const attrs = { ...file.attrs, mtimeMs: file.mtimeMs }
      const etag = await this.#client.copy(file.key, file.key, file.size, toS3fsMetadata(attrs))
      this.#metadata.noteFile(file.path, { key: file.key, size: file.size, etag, mtimeMs: file.mtimeMs, attrs })
      return true
    })
  }

  async symlink(target: string, path: string): Promise<void> {
    if (Buffer.byteLength(target) >= PATH_MAX) throw new InvalidArgumentError(`${path}: symlink target too long`)
    await this.#createObject(path, Buffer.from(target), S_IFLNK | 0o777)
  }

  async readlink(path: string): Promise<string> {
    const entry = await this.#metadata.stat(path)
    if (entry.kind !== 'file' || !isType(entry.attrs?.mode ?? 0, S_IFLNK)) throw new InvalidArgumentError(`${path} is not a symbolic link`)
    if (entry.size === 0) return ''
    const body = await this.#reader.read({ key: entry.key, etag: entry.etag, size: entry.size }, 0, Math.min(entry.size, PATH_MAX))
    return body.toString('utf8')
  }

  /** A FIFO, socket or device node (or an empty regular file) as a zero-byte object with its mode. */
  async mknod(path: string, mode: number): Promise<void> {
    const type = mode & S_IFMT
    if (!SPECIAL_TYPES.has(type === 0 ? S_IFREG : type)) throw new NotSupportedError(`${path}: mknod of type ${type.toString(8)}`)
    await this.#createObject(path, Buffer.alloc(0), type === 0 ? S_IFREG | mode : mode)
  }

  async #createObject(path: string, body: Buffer, mode: number): Promise<void> {
    if (this.#writes.get(path) !== undefined || await this.#exists(path)) throw new AlreadyExistsError(`${path} exists`)
    const parent = await this.#metadata.lookup(parentOf(path))
    if (parent.kind !== 'dir') throw new NotADirectoryError(`${parentOf(path)} is not a directory`)
    const attrs = this.newAttributes(mode)
    const key = pathToKey(path)
    const etag = await this.#client.upload({ key, body, size: body.length, metadata: toS3fsMetadata(attrs) })
    this.#metadata.noteFile(path, { key, etag, size: body.length, mtimeMs: attrs.mtimeMs ?? Date.now(), attrs })
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#metadata.lookup(path)
      return true
    } catch (err) {
      if (err instanceof NotFoundError) return false
      throw err
    }
  }
}

/** chmod sets permission bits only: the file type stays what it is. */
function keepType(change: PosixAttributes, currentMode: number): PosixAttributes {
  return change.mode === undefined ? change : { ...change, mode: (currentMode & S_IFMT) | (change.mode & 0o7777) }
}

function stripType(change: PosixAttributes): PosixAttributes {
  return change.mode === undefined ? change : { ...change, mode: S_IFREG | (change.mode & 0o7777) }
}
