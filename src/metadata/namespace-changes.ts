/**
 * Changes to the namespace through the mount: mkdir, rmdir, unlink, rename. They belong
 * here, with the layer that answers "what is at this path": each one checks the path
 * through MetadataStore, changes the bucket, and tells MetadataStore what changed.
 *
 * S3 has no directories and no rename: mkdir writes a `dir/` marker object; rmdir
 * deletes it once nothing else is under the prefix; rename copies (server-side)
 * then deletes, so it is not atomic (documented in docs/SEMANTICS.md).
 *
 * Its client is the composition root's queued client (s3/queued-client.ts): every
 * request waits in the read path's bounded FetchQueue, at foreground priority.
 *
 * Ordering against the write path (through StagedWrites, staged-writes.ts, which the
 * WriteBack implements): a rename or unlink of a staged file runs inside `exclusive`
 * (its upload in flight is cancelled and settled first, later uploads wait), and
 * rewrites or removes the journal before the bucket changes, so no upload lands after
 * the delete that should have superseded it and a crash never resurrects a removed
 * file. A directory rename of more than `renameDirMaxObjects` objects answers EXDEV
 * at once (tools such as mv then copy the tree themselves) instead of holding the
 * kernel's locks on both parents for minutes.
 */
import type { Logger } from 'pino'
import {
  AlreadyExistsError,
  CrossDeviceError,
  DirectoryNotEmptyError,
  IsADirectoryError,
  NotADirectoryError,
  NotFoundError,
  NotSupportedError,
} from '../errors.js'
import type { ObjectClient, ObjectInfo, ObjectMetadata } from '../s3/object-client.js'
import { listPages } from '../s3/list-pages.js'
import { forEachLimit } from '../util/for-each-limit.js'
import { contentTypeAfterRename, typeMayChangeOnRename } from './content-type.js'
import type { Entry } from './entry.js'
import type { MetadataStore } from './metadata-store.js'
import { isRoot, parentOf, pathToKey, pathToPrefix } from './paths.js'
import { DIRECTORY_CONTENT_TYPE, toS3fsMetadata, type PosixAttributes } from './s3fs-attributes.js'
import type { StagedFile, StagedWrites } from './staged-writes.js'

export interface NamespaceLimits {
  /** A directory rename copies at most this many objects inside one request; more is EXDEV. */
  readonly renameDirMaxObjects: number
}

/** Copies and deletes in flight during a directory rename. */
const RENAME_CONCURRENCY = 16

type FileEntry = Entry & { kind: 'file' }

export class NamespaceChanges<F extends StagedFile = StagedFile> {
  readonly #limits: NamespaceLimits
  readonly #metadata: MetadataStore
  readonly #writes: StagedWrites<F>
  readonly #client: ObjectClient
  readonly #log: Logger

  constructor(limits: NamespaceLimits, metadata: MetadataStore, writes: StagedWrites<F>, client: ObjectClient, log: Logger) {
    this.#limits = limits
    this.#metadata = metadata
    this.#writes = writes
    this.#client = client
    this.#log = log
  }

  /** A `dir/` marker object carrying the directory's attributes as s3fs headers. */
  async mkdir(path: string, attrs: PosixAttributes): Promise<void> {
    if (await this.#exists(path)) throw new AlreadyExistsError(`${path} exists`)
    await this.#requireDir(parentOf(path))
    await this.#client.upload({ key: pathToPrefix(path), size: 0, metadata: toS3fsMetadata(attrs), contentType: DIRECTORY_CONTENT_TYPE })
    this.#metadata.noteDir(path, attrs)
  }

  async rmdir(path: string): Promise<void> {
    if (isRoot(path)) throw new NotSupportedError('cannot remove the mount root')
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
    if (this.#writes.under(path).length > 0) throw new DirectoryNotEmptyError(`${path} is not empty`)
    const page = await this.#client.listPage({ prefix: entry.prefix, delimiter: '/', maxKeys: 2 })
    const others = page.objects.filter(o => o.key !== entry.prefix).length + page.commonPrefixes.length
    if (others > 0) {
      this.#metadata.noteNotEmpty(path)
      throw new DirectoryNotEmptyError(`${path} is not empty`)
    }
    await this.#client.delete(entry.prefix)
    this.#metadata.noteRemoved(path)
  }

  async unlink(path: string): Promise<void> {
    await this.#writes.settled(path)
    const staged = this.#writes.get(path)
    const entry = staged === undefined ? await this.#metadata.lookup(path) : undefined
    if (entry?.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
    // The journal goes first (durably), then the object: a crash in between never brings it back.
    await this.#writes.discard(path)
    // Deleting an absent key succeeds: the staged file may never have been uploaded.
    await this.#client.delete(pathToKey(path))
    this.#metadata.noteRemoved(path)
  }

  async rename(from: string, to: string): Promise<void> {
    if (isRoot(from) || isRoot(to)) throw new NotSupportedError('cannot rename the mount root')
    if (to === from) return
    if (to.startsWith(from + '/')) throw new NotSupportedError(`cannot move ${from} into itself`)
    await this.#writes.settled(from)
    await this.#writes.settled(to)
    const staged = this.#writes.get(from)
    const source = staged === undefined ? await this.#metadata.lookup(from) : undefined
    await this.#requireDir(parentOf(to))
    const target = this.#writes.get(to) === undefined ? await this.#lookupOrUndefined(to) : undefined
    if (source?.kind === 'dir') return this.#renameDir(from, to, source.prefix, target)
    if (target?.kind === 'dir') throw new IsADirectoryError(`${to} is a directory`)
    if (staged !== undefined) return this.#renameStaged(staged, from, to)
    return this.#renameObject(source as FileEntry, from, to)
  }

  /** A file with staged writes: its journal names the new key before the old object goes. */
  async #renameStaged(file: F, from: string, to: string): Promise<void> {
    const toKey = pathToKey(to)
    const moved = await this.#writes.exclusive(file, async () => {
      // Removed, or uploaded and retired, while this waited for its turn: nothing staged is left to move.
      if (file.unlinked) throw new NotFoundError(`${from} was removed while its rename waited`)
      if (file.retired) return false
      const fromKey = file.key
      // Clean: the bucket already has these bytes; copy them server-side instead of uploading again.
      const etag = file.clean ? await this.#copyRenamed(fromKey, toKey, file.size) : undefined
      await this.#writes.move(file, to, toKey)
      await this.#client.delete(fromKey)
      this.#metadata.noteRemoved(from)
      if (etag !== undefined)
        this.#metadata.noteFile(to, { key: toKey, etag, size: file.size, mtimeMs: file.mtimeMs, attrs: { ...file.attrs, mtimeMs: file.mtimeMs } })
      else this.#metadata.noteCreating(to)
      return true
    })
    if (moved) return this.#writes.resume(file)
    // The bucket's object is the file now: rename it as one.
    const source = await this.#metadata.lookup(from)
    if (source.kind !== 'file') throw new NotFoundError(`${from} is no longer a file`)
    return this.#renameObject(source as FileEntry, from, to)
  }

  /** An object with nothing staged: copy, then delete; a staged target is superseded after the copy. */
  async #renameObject(file: FileEntry, from: string, to: string): Promise<void> {
    const toKey = pathToKey(to)
    const copy = (): Promise<string> => this.#copyRenamed(file.key, toKey, file.size)
    const target = this.#writes.get(to)
    const etag =
      target === undefined
        ? await copy()
        : await this.#writes.exclusive(target, async () => {
            const copied = await copy()
            await this.#writes.discardInside(target, to)
            return copied
          })
    await this.#client.delete(file.key)
    this.#metadata.noteRemoved(from)
    // The copy keeps the source's headers (S3's default metadata directive), so its attributes too.
    this.#metadata.noteFile(to, { key: toKey, size: file.size, etag, mtimeMs: file.mtimeMs, ...(file.attrs !== undefined ? { attrs: file.attrs } : {}) })
  }

  async #renameDir(from: string, to: string, fromPrefix: string, target: Entry | undefined): Promise<void> {
    if (target?.kind === 'file' || this.#writes.get(to) !== undefined) throw new NotADirectoryError(`${to} is not a directory`)
    const limit = this.#limits.renameDirMaxObjects
    const keys = await this.#listAll(fromPrefix, limit + 1)
    if (keys.length > limit) {
      throw new CrossDeviceError(`${from}: a directory of more than ${limit} objects is not renamed in place (EXDEV: mv copies it instead)`)
    }
    if (target?.kind === 'dir') await this.rmdir(to) // must be empty, as rename(2) requires
    const toPrefix = pathToPrefix(to)
    const moved = (key: string): string => toPrefix + key.slice(fromPrefix.length)
    await forEachLimit(keys, RENAME_CONCURRENCY, async obj => {
      await this.#client.copy(obj.key, moved(obj.key), obj.size)
    })
    // Every copy landed: only now move staged files and delete the sources, so a failure leaves both, never neither.
    const listed = new Set(keys.map(k => k.key))
    const staged = this.#writes.under(from)
    for (const f of staged) {
      const newPath = to + f.path.slice(from.length)
      await this.#writes.exclusive(f, async () => {
        if (f.unlinked) return // removed while it waited: nothing to move
        const oldKey = f.key
        // Clean, or retired (uploaded) while it waited: the bucket has it, perhaps since the listing.
        if ((f.clean || f.retired) && !listed.has(oldKey)) await this.#client.copy(oldKey, moved(oldKey), f.size)
        await this.#writes.move(f, newPath, pathToKey(newPath))
        if (!listed.has(oldKey)) await this.#client.delete(oldKey)
      })
    }
    await forEachLimit(keys, RENAME_CONCURRENCY, obj => this.#client.delete(obj.key))
    // A directory without a marker (only implied by its keys) gets one, so that it survives as empty;
    // a copied marker is never overwritten: it carries the directory's mode, owner and times.
    if (!listed.has(fromPrefix)) await this.#client.upload({ key: toPrefix, size: 0 })
    this.#log.info({ from, to, objects: keys.length, staged: staged.length }, 'renamed directory')
    this.#metadata.invalidateTree(from)
    this.#metadata.invalidateTree(to)
    for (const f of staged) this.#writes.resume(f)
  }

  /**
   * A server-side copy for a file rename. When the new name gives another Content-Type, the
   * object's headers are read (one HEAD) and, if its type came from the old name, the copy
   * replaces it with the new name's (content-type.ts), keeping every user metadata header.
   */
  async #copyRenamed(fromKey: string, toKey: string, size: number): Promise<string> {
    if (!typeMayChangeOnRename(fromKey, toKey)) return this.#client.copy(fromKey, toKey, size)
    const head = await this.#client.head(fromKey)
    const contentType = contentTypeAfterRename(fromKey, toKey, head.contentType)
    if (contentType === undefined) return this.#client.copy(fromKey, toKey, size)
    const metadata: ObjectMetadata = head.metadata ?? {}
    return this.#client.copy(fromKey, toKey, size, metadata, contentType)
  }

  /** Every object under `prefix`, stopping once more than `atMost` are seen. */
  async #listAll(prefix: string, atMost: number): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = []
    for await (const page of listPages(this.#client, { prefix })) {
      out.push(...page.objects)
      if (out.length >= atMost) break
    }
    return out
  }

  async #requireDir(path: string): Promise<void> {
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
  }

  async #exists(path: string): Promise<boolean> {
    return this.#writes.get(path) !== undefined || (await this.#lookupOrUndefined(path)) !== undefined
  }

  async #lookupOrUndefined(path: string): Promise<Entry | undefined> {
    try {
      return await this.#metadata.lookup(path)
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
  }
}
