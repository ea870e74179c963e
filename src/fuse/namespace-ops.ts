/**
 * Changes to the namespace through the mount: mkdir, rmdir, unlink, rename.
 *
 * S3 has no directories and no rename: mkdir writes a `dir/` marker object; rmdir
 * deletes it once nothing else is under the prefix; rename copies (server-side)
 * then deletes, key by key for a directory, so it is not atomic (documented in
 * docs/SEMANTICS.md). Staged, unuploaded files are renamed in place and uploaded
 * to their new key.
 */
import type { Logger } from 'pino'
import { AlreadyExistsError, DirectoryNotEmptyError, IsADirectoryError, NotADirectoryError, NotFoundError, NotSupportedError } from '../errors.js'
import type { Entry } from '../metadata/entry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { isRoot, parentOf, pathToKey, pathToPrefix } from '../metadata/paths.js'
import type { ObjectClient, ObjectInfo } from '../s3/object-client.js'
import { forEachLimit } from '../util/for-each-limit.js'
import type { WriteBack } from '../write/write-back.js'

/** Copies and deletes in flight during a directory rename. */
const RENAME_CONCURRENCY = 16

export class NamespaceOps {
  readonly #metadata: MetadataStore
  readonly #writes: WriteBack
  readonly #client: ObjectClient
  readonly #log: Logger

  constructor(metadata: MetadataStore, writes: WriteBack, client: ObjectClient, log: Logger) {
    this.#metadata = metadata
    this.#writes = writes
    this.#client = client
    this.#log = log
  }

  async mkdir(path: string): Promise<void> {
    if (await this.#exists(path)) throw new AlreadyExistsError(`${path} exists`)
    await this.#requireDir(parentOf(path))
    await this.#client.upload({ key: pathToPrefix(path), size: 0 })
    this.#metadata.noteDir(path)
  }

  async rmdir(path: string): Promise<void> {
    if (isRoot(path)) throw new NotSupportedError('cannot remove the mount root')
    const entry = await this.#metadata.lookup(path)
    if (entry.kind !== 'dir') throw new NotADirectoryError(`${path} is not a directory`)
    if (this.#writes.under(path).length > 0) throw new DirectoryNotEmptyError(`${path} is not empty`)
    const page = await this.#client.listPage({ prefix: entry.prefix, delimiter: '/', maxKeys: 2 })
    const others = page.objects.filter(o => o.key !== entry.prefix).length + page.commonPrefixes.length
    if (others > 0) throw new DirectoryNotEmptyError(`${path} is not empty`)
    await this.#client.delete(entry.prefix)
    this.#metadata.noteRemoved(path)
  }

  async unlink(path: string): Promise<void> {
    const staged = this.#writes.get(path)
    const entry = staged === undefined ? await this.#metadata.lookup(path) : undefined
    if (entry?.kind === 'dir') throw new IsADirectoryError(`${path} is a directory`)
    await this.#writes.discard(path)
    // Deleting an absent key succeeds: the staged file may never have been uploaded.
    await this.#client.delete(pathToKey(path))
    this.#metadata.noteRemoved(path)
  }

  async rename(from: string, to: string): Promise<void> {
    if (isRoot(from) || isRoot(to)) throw new NotSupportedError('cannot rename the mount root')
    if (to === from) return
    if (to.startsWith(from + '/')) throw new NotSupportedError(`cannot move ${from} into itself`)
    const staged = this.#writes.get(from)
    const source = staged === undefined ? await this.#metadata.lookup(from) : undefined
    await this.#requireDir(parentOf(to))
    const target = await this.#lookupOrUndefined(to)
    if (source?.kind === 'dir') return this.#renameDir(from, to, source.prefix, target)
    if (target?.kind === 'dir') throw new IsADirectoryError(`${to} is a directory`)
    if (staged !== undefined) {
      await this.#writes.discard(to)
      this.#writes.move(staged, to, pathToKey(to))
      await this.#client.delete(pathToKey(from))
      this.#metadata.noteRemoved(from)
      this.#metadata.invalidate(to)
      if (staged.openHandles === 0) await this.#writes.closed(staged)
      return
    }
    const file = source as Entry & { kind: 'file' }
    await this.#client.copy(file.key, pathToKey(to), file.size)
    await this.#client.delete(file.key)
    this.#metadata.noteRemoved(from)
    this.#metadata.noteFile(to, { key: pathToKey(to), size: file.size, etag: file.etag, mtimeMs: file.mtimeMs })
  }

  async #renameDir(from: string, to: string, fromPrefix: string, target: Entry | undefined): Promise<void> {
    if (target?.kind === 'file') throw new NotADirectoryError(`${to} is not a directory`)
    if (target?.kind === 'dir') await this.rmdir(to) // must be empty, as rename(2) requires
    const toPrefix = pathToPrefix(to)
    for (const f of this.#writes.under(from)) {
      const newPath = to + f.path.slice(from.length)
      this.#writes.move(f, newPath, pathToKey(newPath))
    }
    const keys = await this.#listAll(fromPrefix)
    await forEachLimit(keys, RENAME_CONCURRENCY, obj => this.#client.copy(obj.key, toPrefix + obj.key.slice(fromPrefix.length), obj.size))
    // Every copy landed: only now delete the sources, so a failure leaves both, never neither.
    await forEachLimit(keys, RENAME_CONCURRENCY, obj => this.#client.delete(obj.key))
    if (!keys.some(k => k.key === toPrefix)) await this.#client.upload({ key: toPrefix, size: 0 })
    this.#log.info({ from, to, objects: keys.length }, 'renamed directory')
    this.#metadata.invalidateTree(from)
    this.#metadata.invalidateTree(to)
    for (const f of this.#writes.under(to)) if (f.openHandles === 0) await this.#writes.closed(f)
  }

  async #listAll(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = []
    let token: string | undefined
    do {
      const page = await this.#client.listPage({ prefix, ...(token !== undefined ? { continuationToken: token } : {}) })
      out.push(...page.objects)
      token = page.nextContinuationToken
    } while (token !== undefined)
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
