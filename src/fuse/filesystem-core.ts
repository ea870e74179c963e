/**
 * The filesystem's semantics, as plain TypeScript that tests can drive without a mount.
 *
 * Paths map to S3 keys through the MetadataStore; file contents come from the
 * BlockReader, or from the WriteBack's staged file when the path has unuploaded
 * writes (read-your-writes). A read handle pins the object version (ETag) seen at
 * open, so a reader never mixes bytes of two versions: if the object changes while
 * open, reads fail with PreconditionFailedError (ESTALE) and the path's metadata is
 * dropped so the next open sees the new version. Namespace changes live in the metadata
 * layer (NamespaceChanges), writes in WriteOps, attributes in AttributeOps; the FUSE adapter only converts.
 */
import { constants as fsConstants } from 'node:fs'
import type { Logger } from 'pino'
import type { BlockReader } from '../cache/block-reader.js'
import { FileReader } from '../cache/file-reader.js'
import type { WholeObjects } from '../cache/whole-objects.js'
import {
  BadHandleError,
  FileTooLargeError,
  HardLinkError,
  IsADirectoryError,
  NotADirectoryError,
  NotFoundError,
  PreconditionFailedError,
  ReadOnlyError,
} from '../errors.js'
import type { Entry, FileEntry } from '../metadata/entry.js'
import type { ObjectVersion } from '../cache/object-version.js'
import { SingleFlight } from '../util/single-flight.js'
import { isNativeHandle, type KnownFiles, type KnownFilesStats } from './known-files.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { NamespaceChanges } from '../metadata/namespace-changes.js'
import type { WriteBack } from '../write/write-back.js'
import type { FilesystemConfig, OpenListener } from './filesystem-types.js'
import { AttributeOps } from './attribute-ops.js'
import { entryStat, fileStat, listedType, type FileStat } from './file-stat.js'
import { S_IFDIR } from '../metadata/s3fs-attributes.js'
import type { ObjectClient } from '../s3/object-client.js'
import { checkName, ID_UNCHANGED, MAX_FILE_BYTES, wantsWrite } from './fs-limits.js'
import { type DirectReads, type DirectReadStats, type FileHandle, OpenFiles } from './open-files.js'
import { WriteOps } from './write-ops.js'
import { NamespaceTimes } from './namespace-times.js'
import type { Caller } from './caller.js'

export type { FilesystemConfig } from './filesystem-types.js'
export type { FileStat } from './file-stat.js'
export type { DirectReadStats } from './open-files.js'

/** Files of more blocks than this are published for lookups only: their opens are few and go to the core (a lookup walks no long block list). */
const PUBLISH_BLOCKS_MAX = 64

/** Paths longer than this take the awaited path (which checks NAME_MAX per component). */
const SYNC_PATH_MAX = 255

export class FilesystemCore {
  readonly #config: FilesystemConfig
  readonly #metadata: MetadataStore
  readonly #reader: BlockReader
  readonly #writes: WriteBack
  readonly #log: Logger
  readonly #namespace: NamespaceChanges
  readonly #attributes: AttributeOps
  readonly #files = new OpenFiles()
  readonly #writeOps: WriteOps
  readonly #times: NamespaceTimes
  #openListener: OpenListener = () => {}
  #known: KnownFiles | undefined
  #whole: WholeObjects | undefined
  #passthroughActive: () => boolean = () => false
  #opensWatched: () => boolean = () => false
  /** Handles the binding opened whose reads came back here, being adopted (one lookup per handle). */
  readonly #adoptions = new SingleFlight<FileHandle>()

  constructor(config: FilesystemConfig, metadata: MetadataStore, reader: BlockReader, writes: WriteBack, client: ObjectClient, log: Logger) {
    this.#config = config
    this.#metadata = metadata
    this.#reader = reader
    this.#writes = writes
    this.#log = log
    this.#namespace = new NamespaceChanges(config.namespace, metadata, writes, client, log)
    this.#attributes = new AttributeOps(config, metadata, writes, reader, client, log)
    this.#times = new NamespaceTimes(metadata, writes, log)
    this.#writeOps = new WriteOps({ adoptMaxBytes: config.adoptMaxBytes, metadata, reader, writes, attributes: this.#attributes, files: this.#files, log })
  }

  /** Set by the FUSE adapter when its binding can answer reads of cached blocks itself. */
  set directReads(direct: DirectReads | undefined) {
    this.#files.direct = direct
  }

  /**
   * Set by the FUSE adapter when its binding answers getattr and read-only opens of the
   * files the core publishes (known-files.ts); every change of the metadata caches and
   * every path about to be written then forgets what it touched there.
   */
  set knownFiles(known: KnownFiles) {
    this.#known = known
    this.#metadata.changeListener = known
    this.#writes.busyListener = path => known.entry(path)
  }

  /**
   * Whether every open must reach the core as it happens (an announced order is being
   * followed: its prefetch window moves with each open); the binding then answers lookups
   * only, since the opens it answers are heard in batches.
   */
  set opensWatched(watched: () => boolean) {
    this.#opensWatched = watched
  }

  /**
   * `--passthrough`: the whole-object copies a clean read-only open may hand to the kernel, while
   * `active()` (the kernel granted passthrough, and still takes backing files). The binding then
   * answers no open of an object that may have one (the core decides).
   */
  setWholeObjects(whole: WholeObjects, active: () => boolean): void {
    this.#whole = whole
    this.#passthroughActive = active
    // An object loaded whole (a shard read at random, `s3cachefs load`) gets its copy at once, before its next open.
    this.#reader.onObjectLoaded(obj => this.#copiesFor(obj)?.offer(obj))
  }

  /** The copies, when `version` may be read through one (its opens are then the core's to answer) and the kernel takes them. */
  #copiesFor(version: ObjectVersion): WholeObjects | undefined {
    return this.#whole?.eligible(version) === true && this.#passthroughActive() ? this.#whole : undefined
  }

  /**
   * The whole-object copy the kernel may read `fh` (just opened with `flags`) from itself, for a
   * clean read-only handle of an object that may have one: `fresh` when the copy may be handed
   * to the kernel now; otherwise (none, left the budget, or freed or expired) the binding may only
   * share it with the handles of the same file already reading it through the kernel (the same
   * object version: the bytes they read). A copy missing is offered to be made.
   */
  backingOf(fh: number, flags: number): { path: string; fresh: boolean } | undefined {
    if (this.#whole === undefined || wantsWrite(flags)) return undefined
    const handle = this.#files.find(fh)
    if (handle?.kind !== 'clean' || this.#writes.busy(handle.path)) return undefined
    const version = handle.reader.version
    const whole = this.#copiesFor(version)
    if (whole === undefined) return undefined
    const usable = whole.backingFor(version)
    if (usable !== undefined) return { path: usable, fresh: true }
    whole.offer(version)
    return { path: whole.pathFor(version), fresh: false }
  }

  /** Lets no published path be opened by the binding from now on (until published again). */
  forgetPublishedOpens(): void {
    this.#known?.all()
  }

  knownFileStats(): KnownFilesStats | undefined {
    return this.#known?.stats()
  }

  /**
   * Forgets the handles whose release the binding answered, and hears of the opens it
   * answered (for the prefetchers, and as uses of the blocks for eviction). Called on a timer.
   */
  forgetReleased(): void {
    this.#files.forgetReleased()
    if (this.#known !== undefined) for (const path of this.#known.takeOpened()) this.#openedByBinding(path)
  }

  #openedByBinding(path: string): void {
    const entry = this.#metadata.peekStat(path)
    if (entry?.kind !== 'file') return
    const version = versionOf(entry)
    const blocks = this.#reader.directReadPrefix(version)
    this.#openListener(path, version, () => blocks !== undefined || this.#reader.isCached(version))
  }

  directReadStats(): DirectReadStats {
    return this.#files.directStats()
  }

  set openListener(listener: OpenListener) {
    this.#openListener = listener
  }

  /**
   * fstat(2) of an open handle: what its path shows, or, for a file unlinked while open
   * (libfuse then passes no path), the handle's own file: staged bytes or the version it reads.
   */
  async fgetattr(fh: number, path: string): Promise<FileStat> {
    const handle = this.#files.find(fh)
    // A handle the binding opened, of a file unlinked since: its object's size, as for the core's own clean handles.
    if (handle === undefined && path === '' && isNativeHandle(fh)) {
      const opened = this.#known?.handleOf(fh)
      if (opened === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
      return fileStat(this.#config, opened.size, Date.now(), undefined)
    }
    if (handle?.kind === 'dirty' && (path === '' || handle.file.unlinked)) {
      return fileStat(this.#config, handle.file.size, handle.file.mtimeMs, handle.file.attrs)
    }
    if (handle?.kind === 'clean' && path === '') {
      return fileStat(this.#config, handle.reader.version.size, Date.now(), undefined)
    }
    return this.getattr(path)
  }

  /**
   * getattr answered from the caches without waiting, or undefined when it would have
   * to wait (a staged file, an unknown or absent path, a long name): the adapter then
   * awaits `getattr`. The warm-epoch path: one kernel LOOKUP per file, no promise.
   */
  getattrCached(path: string): FileStat | undefined {
    if (path.length > SYNC_PATH_MAX || this.#writes.busy(path)) return undefined
    const fresh = this.#known === undefined ? undefined : this.#metadata.peekStatFor(path)
    if (fresh?.entry.kind === 'file') return this.#publish(path, fresh.entry, fresh.forMs)
    const entry = fresh?.entry ?? this.#metadata.peekStat(path)
    if (entry === undefined) return undefined
    return entryStat(this.#config, entry, entry.kind === 'dir' ? this.#metadata.subdirCount(path) : undefined)
  }

  /**
   * Lets the binding answer getattr of `path` (a clean file: nothing staged) for the `forMs`
   * the caches hold `entry`, and its read-only opens when all its blocks are on disk.
   */
  #publish(path: string, entry: FileEntry, forMs: number, blocks = this.#blocksForLookup(entry)): FileStat {
    const stat = entryStat(this.#config, entry, undefined)
    // (The version is built only with passthrough on: this runs at every lookup of a cached file.)
    const opens = blocks !== undefined && !this.#opensWatched() && (this.#whole === undefined || this.#copiesFor(versionOf(entry)) === undefined)
    const known = opens ? { prefix: blocks.prefix, blockSize: blocks.blockSize, forMs: blocks.forMs } : undefined
    this.#known?.publish(path, stat, forMs, known)
    return stat
  }

  async getattr(path: string): Promise<FileStat> {
    checkName(path)
    const dirty = this.#writes.get(path)
    if (dirty !== undefined) return fileStat(this.#config, dirty.size, dirty.mtimeMs, dirty.attrs)
    const entry = await this.#metadata.stat(path)
    if (entry.kind === 'file' && this.#known !== undefined && !this.#writes.busy(path)) {
      // Looked up just now: the binding may answer the next lookup (and open) itself.
      const fresh = this.#metadata.peekStatFor(path)
      if (fresh !== undefined && sameVersion(fresh.entry, versionOf(entry))) return this.#publish(path, fresh.entry, fresh.forMs)
    }
    return entryStat(this.#config, entry, entry.kind === 'dir' ? this.#metadata.subdirCount(path) : undefined)
  }

  /** The names in a directory, without `.` and `..` (the adapter adds them). */
  async readdir(path: string): Promise<string[]> {
    return (await this.readdirTyped(path)).names
  }

  /** The names in a directory and each one's type bits as getattr would show them (0: unknown), without `.` and `..`. */
  async readdirTyped(path: string): Promise<{ names: string[]; types: number[] }> {
    const listing = await this.#metadata.readdir(path)
    const pending = this.#metadata.headsForAttributes
    // A name with staged writes answers getattr from them (a file renamed over a listed symlink
    // is a regular file until uploaded): its type is left to that lookup (0, DT_UNKNOWN).
    const staged = new Set<string>()
    for (const f of this.#writes.childrenOf(path)) staged.add(f.path.slice(f.path.lastIndexOf('/') + 1))
    const names: string[] = []
    const types: number[] = []
    for (const [name, entry] of listing.children) {
      names.push(name)
      types.push(staged.has(name) ? 0 : listedType(entry, pending))
    }
    for (const name of staged) {
      if (!listing.children.has(name)) {
        names.push(name)
        types.push(0)
      }
    }
    return { names, types }
  }

  async opendir(path: string): Promise<void> {
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
  }

  async open(path: string, flags: number): Promise<number> {
    checkName(path)
    if (wantsWrite(flags)) {
      this.#checkWritable(path)
      return this.#writeOps.open(path, flags)
    }
    await this.#writes.settled(path)
    // A path with staged writes reads them (read-your-writes).
    const staged = this.#writes.attach(path)
    if (staged !== undefined) return this.#files.add({ kind: 'dirty', path, file: staged })
    const entry = await this.#metadata.lookup(path)
    if (entry.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
    return this.#openClean(path, entry)
  }

  /** open(2) for reading of a warm clean file, without waiting; undefined when `open` must be awaited. */
  openCached(path: string, flags: number): number | undefined {
    if (wantsWrite(flags) || path.length > SYNC_PATH_MAX || this.#writes.busy(path)) return undefined
    const entry = this.#metadata.peekStat(path)
    return entry === undefined || entry.kind === 'dir' ? undefined : this.#openClean(path, entry)
  }

  /** Whether a looked-up file is all on disk (not counted as a use; a large file's opens are left to the core). */
  #blocksForLookup(entry: FileEntry): ReturnType<BlockReader['directReadPrefix']> {
    const version = versionOf(entry)
    return this.#reader.blockCount(version) > PUBLISH_BLOCKS_MAX ? undefined : this.#reader.directReadPrefix(version, false)
  }

  #openClean(path: string, entry: FileEntry): number {
    const version = versionOf(entry)
    this.#files.forgetReleased()
    const handle: FileHandle = { kind: 'clean', path, reader: new FileReader(this.#reader, version, this.#config.fileReader) }
    const fh = this.#files.add(handle)
    // One walk of the object's blocks answers both: may the binding read it, and is it cached.
    const blocks = this.#files.direct === undefined ? undefined : this.#reader.directReadPrefix(version)
    if (blocks !== undefined) this.#files.registerDirect(fh, handle, blocks.prefix, blocks.blockSize)
    // Cached now: the binding may answer the next open itself.
    if (blocks !== undefined && this.#known !== undefined && !this.#writes.busy(path)) {
      const fresh = this.#metadata.peekStatFor(path)
      if (fresh !== undefined && sameVersion(fresh.entry, version)) this.#publish(path, fresh.entry, fresh.forMs, blocks)
    }
    this.#openListener(path, version, () => blocks !== undefined || this.#reader.isCached(version))
    return fh
  }

  async create(path: string, mode = this.#config.fileMode, caller?: Caller): Promise<number> {
    checkName(path)
    this.#checkWritable(path)
    return this.#times.entryChanged(this.#writeOps.create(path, mode, caller), path)
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const target = Buffer.allocUnsafe(length)
    return target.subarray(0, await this.readInto(fh, offset, length, target))
  }

  /** Reads into `target` (the kernel's reply buffer); resolves with the bytes read. `path`: the handle's path now. */
  async readInto(fh: number, offset: number, length: number, target: Buffer, path = ''): Promise<number> {
    const handle = this.#files.find(fh) ?? (isNativeHandle(fh) ? await this.#adoptions.run(String(fh), () => this.#adopt(fh, path)) : this.#files.get(fh))
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

  /**
   * A handle the binding opened (known-files.ts) whose read it could not serve (a block
   * evicted since): read here from then on, if `path` still names the object version the
   * binding opened (its block files' prefix says which); ESTALE otherwise, as for any
   * handle whose object changed while open.
   */
  async #adopt(fh: number, path: string): Promise<FileHandle> {
    const prefix = this.#known?.handleOf(fh)?.prefix
    if (prefix === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
    const stale = () => new PreconditionFailedError(`${path || `file handle ${fh}`}: changed or removed since it was opened`)
    if (path === '') throw stale()
    await this.#writes.settled(path)
    let entry: Entry
    try {
      entry = await this.#metadata.lookup(path)
    } catch (err) {
      if (err instanceof NotFoundError) throw stale()
      throw err
    }
    if (this.#writes.busy(path) || entry.kind !== 'file' || this.#reader.blockFilePrefix(versionOf(entry)) !== prefix) throw stale()
    const handle: FileHandle = { kind: 'clean', path, reader: new FileReader(this.#reader, versionOf(entry), this.#config.fileReader), direct: true }
    // Released meanwhile: the binding forgot it, and no read of it can come.
    if (this.#known?.handleOf(fh) === undefined) throw new BadHandleError(`file handle ${fh} is not open`)
    this.#files.adopt(fh, handle)
    this.#known.noteAdopted()
    this.#log.debug({ path, fh }, 'adopted a handle the binding opened')
    return handle
  }

  async write(fh: number, data: Buffer, offset: number): Promise<number> {
    if (offset + data.length > MAX_FILE_BYTES) throw new FileTooLargeError(`${this.#files.get(fh).path}: beyond the largest object S3 stores (5 TiB)`)
    return this.#writes.write(this.#files.dirty(fh), data, offset)
  }

  /** close(2) of one descriptor: written data is uploaded (sync) or scheduled (async). */
  async flush(fh: number): Promise<void> {
    const handle = this.#handleOrNative(fh)
    if (handle?.kind === 'dirty') await this.#writes.closed(handle.file)
  }

  /**
   * Whether closing `fh`, just opened with `flags`, needs no flush: the flush of a clean
   * read-only handle does nothing, so the kernel is told to send none (FOPEN_NOFLUSH) and a
   * close costs no round trip. A handle on staged writes is flushed at every close, as before.
   */
  closesWithoutFlush(fh: number, flags: number): boolean {
    return !wantsWrite(flags) && this.#handleOrNative(fh)?.kind === 'clean'
  }

  /** fsync(2): the bytes are in the bucket when this returns, in either write mode. */
  async fsync(fh: number): Promise<void> {
    const handle = this.#handleOrNative(fh)
    if (handle?.kind === 'dirty') await this.#writes.fsync(handle.file)
  }

  async release(fh: number): Promise<void> {
    const handle = this.#files.remove(fh)
    if (handle?.kind === 'dirty') await this.#writes.released(handle.file)
    else if (handle?.kind === 'clean') {
      this.#publishOnceWritten(handle.path, handle.reader.version)
      this.#offerCopyOnceWritten(handle.reader.version)
    }
  }

  /** After the release of a clean handle: a copy for passthrough once the blocks it read are on disk (the first epoch's read of a shard). */
  #offerCopyOnceWritten(version: ObjectVersion): void {
    const whole = this.#copiesFor(version)
    if (whole === undefined) return
    this.#reader
      .blocksWritten(version)
      .then(() => whole.offer(version))
      .catch((err: unknown) => this.#log.warn({ err, key: version.key }, 'offering a whole-object copy failed'))
  }

  /**
   * After the release of a handle the core served (the file was not all on disk at its
   * open; a cold epoch's reads): once its blocks' disk writes have ended, lets the binding
   * answer the next open itself if the file is all on disk then, so that the first warm
   * epoch's opens do not come here.
   */
  #publishOnceWritten(path: string, version: ObjectVersion): void {
    if (this.#known === undefined || this.#reader.blockCount(version) > PUBLISH_BLOCKS_MAX) return
    this.#reader
      .blocksWritten(version)
      .then(() => {
        if (this.#writes.busy(path)) return
        const fresh = this.#metadata.peekStatFor(path)
        if (fresh === undefined || !sameVersion(fresh.entry, version)) return
        const blocks = this.#blocksForLookup(fresh.entry)
        if (blocks !== undefined) this.#publish(path, fresh.entry, fresh.forMs, blocks)
      })
      .catch((err: unknown) => this.#log.warn({ err, path }, 'publishing a released file for the binding failed'))
  }

  async truncate(path: string, size: number): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#writeOps.truncate(path, size)
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    await this.#writeOps.ftruncate(fh, size)
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

  /** Extended attributes, as s3fs stores them (AttributeOps; the adapter offers them with `--xattr`). */
  async getxattr(path: string, name: string): Promise<Buffer> {
    return this.#attributes.getXattr(path, name)
  }

  async listxattr(path: string): Promise<string[]> {
    return this.#attributes.listXattrs(path)
  }

  async setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    this.#checkWritable(path)
    await this.#attributes.setXattr(path, name, value, flags)
  }

  async removexattr(path: string, name: string): Promise<void> {
    this.#checkWritable(path)
    await this.#attributes.removeXattr(path, name)
  }

  async symlink(target: string, path: string, caller?: Caller): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#times.entryChanged(this.#attributes.symlink(target, path, caller), path)
  }

  async readlink(path: string): Promise<string> {
    return this.#attributes.readlink(path)
  }

  async mknod(path: string, mode: number, caller?: Caller): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    await this.#times.entryChanged(this.#attributes.mknod(path, mode, caller), path)
  }

  async mkdir(path: string, mode = this.#config.dirMode, caller?: Caller): Promise<void> {
    checkName(path)
    this.#checkWritable(path)
    return this.#times.entryChanged(this.#namespace.mkdir(path, this.#attributes.newAttributes(S_IFDIR | (mode & 0o7777), caller)), path)
  }

  async rmdir(path: string): Promise<void> {
    this.#checkWritable(path)
    return this.#times.entryChanged(this.#namespace.rmdir(path), path)
  }

  async unlink(path: string): Promise<void> {
    this.#checkWritable(path)
    return this.#times.entryChanged(this.#namespace.unlink(path), path)
  }

  async rename(from: string, to: string): Promise<void> {
    checkName(to)
    this.#checkWritable(from)
    return this.#times.renamed(this.#namespace.rename(from, to), from, to)
  }

  /** Hard links cannot exist in S3. */
  async refuseLink(path: string): Promise<never> {
    throw new HardLinkError(`${path}: hard links are not supported`)
  }

  async access(path: string, mode: number): Promise<void> {
    if (this.#writes.get(path) === undefined) await this.#metadata.lookup(path)
    if ((mode & fsConstants.W_OK) !== 0 && this.#config.readOnly) throw new ReadOnlyError(`${path}: read-only mount`)
  }

  /** Open handles: the core's own, and those the binding opened itself (once each when adopted). */
  get openHandles(): number {
    if (this.#known === undefined) return this.#files.size
    return this.#files.size + this.#known.stats().openHandles - this.#files.adoptedCount
  }

  /** The handle, or undefined for one the binding opened for reading and kept (nothing to flush or sync). */
  #handleOrNative(fh: number): FileHandle | undefined {
    return isNativeHandle(fh) ? this.#files.find(fh) : this.#files.get(fh)
  }

  #checkWritable(path: string): void {
    if (this.#config.readOnly) throw new ReadOnlyError(`${path}: read-only mount`)
  }
}

function versionOf(entry: FileEntry): ObjectVersion {
  return { key: entry.key, etag: entry.etag, size: entry.size }
}

function sameVersion(entry: Entry, version: ObjectVersion): entry is FileEntry {
  return entry.kind === 'file' && entry.key === version.key && entry.etag === version.etag && entry.size === version.size
}
