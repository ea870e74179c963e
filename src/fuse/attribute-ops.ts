/**
 * Operations on attributes and on the objects s3fs-fuse uses for non-regular files, stored
 * the way s3fs stores them so that either tool reads what the other wrote:
 *
 * - chmod, chown, utimens of an object with nothing staged: a server-side copy onto itself
 *   with its current headers (one HEAD) and the changed fields replaced (metadata directive
 *   REPLACE), so metadata of other clients survives, as with s3fs; of a file being written:
 *   kept on its DirtyFile and carried by its upload; of a directory: its `dir/` marker
 *   copied the same way, or made with the full attribute set; of the root: in memory.
 * - symlink: an object whose body is the target, mode S_IFLNK | 0777; readlink reads it
 *   through the block cache.
 * - mknod: a zero-byte object whose mode carries S_IFIFO, S_IFCHR, S_IFBLK or S_IFSOCK
 *   (s3fs keeps no device number: st_rdev reads 0).
 * - extended attributes (`--xattr`): s3fs's `x-amz-meta-xattr` header (s3fs-xattrs.ts), read
 *   with the other headers and changed like them (a copy onto itself, or carried by an upload).
 */
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import {
  AlreadyExistsError,
  InvalidArgumentError,
  MetadataTooLargeError,
  NoSuchAttributeError,
  NotADirectoryError,
  NotFoundError,
  NotSupportedError,
} from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { parentOf, pathToKey, isRoot } from '../metadata/paths.js'
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  fileTypeOf,
  mergeAttributes,
  parseS3fsMetadata,
  toS3fsMetadata,
  withAttributes,
  type PosixAttributes,
} from '../metadata/s3fs-attributes.js'
import { USER_METADATA_MAX, XATTR_CREATE, XATTR_REPLACE, buildXattrs, parseXattrs, storableName, userMetadataSize } from '../metadata/s3fs-xattrs.js'
import type { ObjectClient, ObjectMetadata } from '../s3/object-client.js'
import type { DirEntry } from '../metadata/entry.js'
import type { DirtyFile } from '../write/dirty-file.js'
import type { WriteBack } from '../write/write-back.js'
import { DIRECTORY_CONTENT_TYPE, contentTypeFor } from '../metadata/content-type.js'
import { attributesOf, entryStat, isType, type StatDefaults } from './file-stat.js'
import type { Caller } from './caller.js'

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
  readonly #changing = new Map<string, PQueue>()

  constructor(defaults: StatDefaults, metadata: MetadataStore, writes: WriteBack, reader: BlockReader, client: ObjectClient, log: Logger) {
    this.#defaults = defaults
    this.#metadata = metadata
    this.#writes = writes
    this.#reader = reader
    this.#client = client
    this.#log = log
  }

  /** Attributes of a new object created now by the request's caller, else the mounting user (s3fs writes all of these). */
  newAttributes(mode: number, caller?: Caller, nowMs = Date.now()): PosixAttributes {
    const owner = caller ?? this.#defaults
    return { mode, uid: owner.uid, gid: owner.gid, mtimeMs: nowMs, atimeMs: nowMs, ctimeMs: nowMs }
  }

  /**
   * chmod/chown/utimens/setxattr/removexattr: `change` holds the fields to set, or computes
   * them from the attributes stored now (an xattr change edits the set it finds); ctime
   * becomes now, as on any filesystem.
   */
  async set(path: string, change: AttributeChange): Promise<void> {
    return this.#oneAtATime(path, () => this.#set(path, change))
  }

  async #set(path: string, change: AttributeChange): Promise<void> {
    const nowMs = Date.now()
    const resolve = (current: PosixAttributes): PosixAttributes => mergeAttributes(typeof change === 'function' ? change(current) : change, { ctimeMs: nowMs })
    const staged = this.#writes.get(path)
    // A staged file retired meanwhile (its last handle released) is an object again: set it as one.
    if (staged !== undefined && (await this.#setStaged(staged, resolve))) return
    const entry = await this.#metadata.lookup(path)
    if (entry.kind === 'dir') return this.#setDir(path, entry, resolve)
    // The object's own headers now (one HEAD): others' metadata is kept, only the changed fields replaced.
    const head = await this.#client.head(entry.key)
    const existing = head.metadata ?? {}
    const current = parseS3fsMetadata(existing)
    // The copy gets a new LastModified: an object with no mtime header keeps the time it shows by getting one.
    const keepMtime = current.mtimeMs === undefined ? { mtimeMs: head.lastModified.getTime() } : {}
    const fields = mergeAttributes(keepMtime, resolve(current))
    const metadata = fitting(path, withAttributes(existing, keepType(fields, fileTypeOf(current.mode))))
    const etag = await this.#client.copy(entry.key, entry.key, head.size, metadata, head.contentType)
    this.#metadata.noteFile(path, { key: entry.key, size: head.size, etag, mtimeMs: head.lastModified.getTime(), attrs: parseS3fsMetadata(metadata) })
    this.#log.debug({ path }, 'attributes stored')
  }

  /**
   * Changes of one path's attributes run one at a time, each reading what the one before
   * stored: two setxattr (or chmod and setxattr) at once never lose each other's fields.
   * A path's queue lives while changes of it are pending.
   */
  async #oneAtATime(path: string, work: () => Promise<void>): Promise<void> {
    let queue = this.#changing.get(path)
    if (queue === undefined) this.#changing.set(path, (queue = new PQueue({ concurrency: 1 })))
    try {
      await queue.add(work)
    } finally {
      if (queue.size === 0 && queue.pending === 0) this.#changing.delete(path)
    }
  }

  /**
   * The attributes `path` has now, extended attributes included: a staged file's own, else
   * the object's or directory marker's headers (one HEAD per version, remembered).
   */
  async current(path: string): Promise<PosixAttributes> {
    const staged = this.#writes.get(path)
    if (staged !== undefined && !staged.retired) return staged.attrs
    return (await this.#metadata.stat(path, true)).attrs ?? {}
  }

  /** getxattr: the value of `name`, from the headers `current` reads; ENODATA when it has none. */
  async getXattr(path: string, name: string): Promise<Buffer> {
    const value = parseXattrs((await this.current(path)).xattr).get(name)
    if (value === undefined) throw new NoSuchAttributeError(`${path}: no extended attribute ${name}`)
    return value
  }

  async listXattrs(path: string): Promise<string[]> {
    return [...parseXattrs((await this.current(path)).xattr).keys()]
  }

  /** setxattr: edits the set stored now (XATTR_CREATE: EEXIST if present; XATTR_REPLACE: ENODATA if absent). */
  async setXattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    if (!storableName(name)) throw new InvalidArgumentError(`${path}: extended attribute names with '"' or ',' cannot be stored as s3fs stores them`)
    const copy = Buffer.from(value)
    await this.set(path, current => {
      const xattrs = parseXattrs(current.xattr)
      if ((flags & XATTR_CREATE) !== 0 && xattrs.has(name)) throw new AlreadyExistsError(`${path}: extended attribute ${name} exists`)
      if ((flags & XATTR_REPLACE) !== 0 && !xattrs.has(name)) throw new NoSuchAttributeError(`${path}: no extended attribute ${name}`)
      return { xattr: buildXattrs(xattrs.set(name, copy)) }
    })
  }

  async removeXattr(path: string, name: string): Promise<void> {
    await this.set(path, current => {
      const xattrs = parseXattrs(current.xattr)
      if (!xattrs.delete(name)) throw new NoSuchAttributeError(`${path}: no extended attribute ${name}`)
      return { xattr: buildXattrs(xattrs) }
    })
  }

  /** A `dir/` marker is copied onto itself with the changed fields (others' headers kept); none yet: one is made. */
  async #setDir(path: string, entry: DirEntry, resolve: (current: PosixAttributes) => PosixAttributes): Promise<void> {
    if (isRoot(path)) return this.#metadata.noteDirAttributes(path, mergeAttributes(entry.attrs, keepType(resolve(entry.attrs ?? {}), S_IFDIR)))
    let existing: ObjectMetadata | undefined
    let contentType: string | undefined
    try {
      const head = await this.#client.head(entry.prefix)
      existing = head.metadata ?? {}
      contentType = head.contentType
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
    let metadata: Record<string, string>
    if (existing !== undefined) {
      metadata = fitting(path, withAttributes(existing, keepType(resolve(parseS3fsMetadata(existing)), S_IFDIR)))
      await this.#client.copy(entry.prefix, entry.prefix, 0, metadata, contentType)
    } else {
      const subdirs = this.#metadata.subdirCount(path)
      const typed = keepType(resolve(entry.attrs ?? {}), S_IFDIR)
      metadata = fitting(path, toS3fsMetadata(mergeAttributes(attributesOf(entryStat(this.#defaults, entry, subdirs)), typed)))
      await this.#client.upload({ key: entry.prefix, size: 0, metadata, contentType: DIRECTORY_CONTENT_TYPE })
    }
    this.#metadata.noteDirAttributes(path, parseS3fsMetadata(metadata))
  }

  /** The headers of the object a staged file was opened from: its uploads keep them, as s3fs keeps them. */
  async adoptHeaders(file: DirtyFile, key: string): Promise<void> {
    const metadata = (await this.#client.head(key)).metadata ?? {}
    file.baseMetadata = metadata
    file.attrs = parseS3fsMetadata(metadata)
  }

  /**
   * A file with staged writes: its next upload carries the attributes. If none is due (its
   * bytes are all in the bucket), they are copied onto the object now, after any upload in
   * flight (uploads of one file run in order), so they are not lost when nothing else changes.
   */
  async #setStaged(file: DirtyFile, resolve: (current: PosixAttributes) => PosixAttributes): Promise<boolean> {
    const change = resolve(file.attrs)
    const attrs = mergeAttributes(file.attrs, stripType(change))
    fitting(file.path, withAttributes(file.baseMetadata, attrs))
    file.attrs = attrs
    if (change.mtimeMs !== undefined) file.touch(change.mtimeMs)
    await this.#writes.journalAttributes(file)
    return file.serialize(async () => {
      if (file.retired) return false
      if (!file.clean || file.unlinked) return true
      const attrs = { ...file.attrs, mtimeMs: file.mtimeMs }
      const etag = await this.#client.copy(file.key, file.key, file.size, withAttributes(file.baseMetadata, attrs), contentTypeFor(file.key))
      this.#metadata.noteFile(file.path, { key: file.key, size: file.size, etag, mtimeMs: file.mtimeMs, attrs })
      return true
    })
  }

  async symlink(target: string, path: string, caller?: Caller): Promise<void> {
    if (Buffer.byteLength(target) >= PATH_MAX) throw new InvalidArgumentError(`${path}: symlink target too long`)
    await this.#createObject(path, Buffer.from(target), S_IFLNK | 0o777, caller)
  }

  async readlink(path: string): Promise<string> {
    const entry = await this.#metadata.stat(path)
    if (entry.kind !== 'file' || !isType(entry.attrs?.mode ?? 0, S_IFLNK)) throw new InvalidArgumentError(`${path} is not a symbolic link`)
    if (entry.size === 0) return ''
    const body = await this.#reader.read({ key: entry.key, etag: entry.etag, size: entry.size }, 0, Math.min(entry.size, PATH_MAX))
    return body.toString('utf8')
  }

  /** A FIFO, socket or device node (or an empty regular file) as a zero-byte object with its mode. */
  async mknod(path: string, mode: number, caller?: Caller): Promise<void> {
    const type = mode & S_IFMT
    if (!SPECIAL_TYPES.has(type === 0 ? S_IFREG : type)) throw new NotSupportedError(`${path}: mknod of type ${type.toString(8)}`)
    await this.#createObject(path, Buffer.alloc(0), type === 0 ? S_IFREG | mode : mode, caller)
  }

  async #createObject(path: string, body: Buffer, mode: number, caller: Caller | undefined): Promise<void> {
    if (this.#writes.get(path) !== undefined || (await this.#exists(path))) throw new AlreadyExistsError(`${path} exists`)
    const parent = await this.#metadata.lookup(parentOf(path))
    if (parent.kind !== 'dir') throw new NotADirectoryError(`${parentOf(path)} is not a directory`)
    const attrs = this.newAttributes(mode, caller)
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

/** What `set` changes: fields, or fields computed from the attributes stored now. */
export type AttributeChange = PosixAttributes | ((current: PosixAttributes) => PosixAttributes)

/** `metadata`, if S3 can store it on one object (2 KiB of user metadata); E2BIG otherwise. */
function fitting(path: string, metadata: Record<string, string>): Record<string, string> {
  const size = userMetadataSize(metadata)
  if (size > USER_METADATA_MAX) throw new MetadataTooLargeError(`${path}: ${size} bytes of metadata, S3 keeps ${USER_METADATA_MAX}`)
  return metadata
}

/** chmod sets permission bits only: the file type stays what it is. */
function keepType(change: PosixAttributes, type: number): PosixAttributes {
  return change.mode === undefined ? change : { ...change, mode: (type & S_IFMT) | (change.mode & 0o7777) }
}

function stripType(change: PosixAttributes): PosixAttributes {
  return change.mode === undefined ? change : { ...change, mode: S_IFREG | (change.mode & 0o7777) }
}
