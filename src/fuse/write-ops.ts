/**
 * Opening files for writing, creating, truncating, and what follows an upload: the
 * part of the filesystem core that deals with staged (dirty) files. A file opened for
 * writing is filled from its object first (unless truncated); an uploaded version is
 * remembered in the metadata and, if small, adopted into the block cache so reading
 * it back costs no GET.
 */
import { constants as fsConstants } from 'node:fs'
import type { Logger } from 'pino'
import type { BlockReader, ObjectVersion } from '../cache/block-reader.js'
import { IsADirectoryError, NotADirectoryError, PreconditionFailedError } from '../errors.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { parentOf, pathToKey } from '../metadata/paths.js'
import { S_IFREG } from '../metadata/s3fs-attributes.js'
import type { DirtyFile, Snapshot } from '../write/dirty-file.js'
import type { WriteBack } from '../write/write-back.js'
import type { AttributeOps } from './attribute-ops.js'
import type { Caller } from './caller.js'
import { checkSize } from './fs-limits.js'
import type { OpenFiles } from './open-files.js'

/** Bytes copied from an object into a new staged file at a time. */
const COPY_IN_STEP_BYTES = 8 * 1024 * 1024

export interface WriteOpsDeps {
  /** Files up to this size are put in the block cache after upload. */
  readonly adoptMaxBytes: number
  readonly metadata: MetadataStore
  readonly reader: BlockReader
  readonly writes: WriteBack
  readonly attributes: AttributeOps
  readonly files: OpenFiles
  readonly log: Logger
}

/** Copies of an object into a new staged file tried before an open answers ESTALE. */
const OPEN_FILL_ATTEMPTS = 3

export class WriteOps {
  readonly #d: WriteOpsDeps

  constructor(deps: WriteOpsDeps) {
    this.#d = deps
    deps.writes.listener = {
      uploaded: (file, etag, snap) => this.#uploaded(file, etag, snap),
      dropped: path => deps.metadata.invalidate(path),
    }
  }

  /** open(2) for writing: a staged file filled from the object (nothing of it with O_TRUNC). */
  async open(path: string, flags: number): Promise<number> {
    const truncate = (flags & fsConstants.O_TRUNC) !== 0
    const file = await this.#openFilled(path, size => (truncate ? 0 : size))
    const fh = this.#d.files.add({ kind: 'dirty', path, file })
    if (truncate) await this.#truncateOrRelease(fh, file, 0)
    return fh
  }

  async create(path: string, mode: number, caller?: Caller): Promise<number> {
    const parent = await this.#d.metadata.lookup(parentOf(path))
    if (parent.kind !== 'dir') throw new NotADirectoryError(`${parentOf(path)} is not a directory`)
    const existed = this.#d.writes.get(path) !== undefined
    const file = await this.#d.writes.open(path, pathToKey(path))
    if (!existed) file.attrs = this.#d.attributes.newAttributes(S_IFREG | (mode & 0o7777), caller)
    const fh = this.#d.files.add({ kind: 'dirty', path, file })
    // create(2) of a staged path empties it, as before staging was per path; a new one is empty already.
    if (existed) await this.#truncateOrRelease(fh, file, 0)
    this.#d.metadata.noteCreating(path)
    return fh
  }

  async truncate(path: string, size: number): Promise<void> {
    checkSize(path, size)
    const writes = this.#d.writes
    const file = await this.#openFilled(path, objectSize => Math.min(size, objectSize))
    try {
      await writes.truncate(file, size)
    } finally {
      await writes.released(file)
    }
    // The kernel sends truncate(path, 0) just before open(O_TRUNC): give that open a moment to
    // attach, so the object is replaced once, by the closed file, never by an empty interim one.
    if (file.openHandles === 0 && !file.retired) writes.closeSoon(file)
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    checkSize(this.#d.files.get(fh).path, size)
    await this.#d.writes.truncate(this.#d.files.dirty(fh), size)
  }

  /** Truncates a just-opened handle's file; on failure the handle is released and the error thrown. */
  async #truncateOrRelease(fh: number, file: DirtyFile, size: number): Promise<void> {
    try {
      await this.#d.writes.truncate(file, size)
    } catch (err) {
      this.#d.files.remove(fh)
      await this.#d.writes.released(file)
      throw err
    }
  }

  /**
   * The staged file of `path`, a new one filled from its object if there is none. The object may change
   * while it is copied in (our own upload of a file a rename just moved there, or another client):
   * the copy is tried again from the version the metadata knows then, a few times, before ESTALE.
   */
  async #openFilled(path: string, bytes: (objectSize: number) => number): Promise<DirtyFile> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#d.writes.open(path, pathToKey(path), this.#fillFromBucket(path, bytes))
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= OPEN_FILL_ATTEMPTS) throw err
      }
    }
  }

  /** Fills a new staged file from the object at `path` (its first `bytes(size)` bytes); fails for a directory or nothing. */
  #fillFromBucket(path: string, bytes: (objectSize: number) => number): (file: DirtyFile) => Promise<void> {
    return async file => {
      const entry = await this.#d.metadata.lookup(path)
      if (entry.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
      // Its upload must keep the object's mode, owners and other clients' headers: read them (one HEAD).
      await this.#d.attributes.adoptHeaders(file, entry.key)
      // Opening is no change: until a write or truncate, the file keeps the mtime it has (its header, else the store's time).
      file.touch(file.attrs.mtimeMs ?? entry.mtimeMs)
      await this.#copyIn({ key: entry.key, etag: entry.etag, size: entry.size }, file, bytes(entry.size))
    }
  }

  /** Copies the first `size` bytes of an object into a new staged file, part by part. */
  async #copyIn(version: ObjectVersion, file: DirtyFile, size: number): Promise<void> {
    for (let pos = 0; pos < size; pos += COPY_IN_STEP_BYTES) {
      await file.fill(await this.#d.reader.read(version, pos, Math.min(COPY_IN_STEP_BYTES, size - pos)), pos)
    }
  }

  /** The exact bytes of `snap` are in the bucket as `etag`: remember them, and cache them (no GET to read back). */
  async #uploaded(file: DirtyFile, etag: string, snap: Snapshot): Promise<void> {
    const version = { key: file.key, etag, size: snap.size }
    this.#d.metadata.noteFile(file.path, { ...version, mtimeMs: snap.mtimeMs, attrs: { ...file.attrs, mtimeMs: snap.mtimeMs } })
    if (snap.size <= this.#d.adoptMaxBytes) {
      await this.#d.reader
        .adopt(version, (pos, len) => snap.data.read(pos, len))
        .catch((err: unknown) => this.#d.log.warn({ err, path: file.path }, 'could not cache an uploaded file'))
    }
  }
}
