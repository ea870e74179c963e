/**
 * The daemon's own permission checks, for mounts where the kernel makes none: with
 * `--allow-other --no-default-permissions` every local user reaches the core, and these
 * checks give them what a local filesystem (and s3fs-fuse, which checks the same itself)
 * would: search permission on every directory of a path, the access a call needs on its
 * file, write and search on the parent to create or remove, the sticky bit. The FUSE
 * adapter calls them, with the request's caller, before it hands the request to the core;
 * with `default_permissions` the kernel has checked already and there is no AccessChecks
 * (these rules would agree, but every lookup would pay for them twice).
 *
 * Attributes come from the core (getattr: staged files, caches, s3fs headers), so the rules
 * see what stat(2) shows. The rules themselves are access-rules.ts; owners' rules for
 * chmod/chown/utimens are owner-rules.ts.
 */
import { AccessDeniedError, NotADirectoryError, NotFoundError, NotPermittedError } from '../errors.js'
import { ancestorsOf, isRoot, parentOf } from '../metadata/paths.js'
import type { Caller } from './caller.js'
import { CallerGroups } from './access-groups.js'
import { isDirectory, type Node, openWants, permits, R_OK, stickyAllows, type Subject, W_OK, X_OK } from './access-rules.js'

/** stat(2) of a path as the core answers it. */
export type StatFn = (path: string) => Promise<Node>

const NAMES: Record<number, string> = { [R_OK]: 'read', [W_OK]: 'write', [X_OK]: 'search' }

export class AccessChecks {
  readonly #stat: StatFn
  readonly #groups: CallerGroups

  constructor(stat: StatFn, groups = new CallerGroups()) {
    this.#stat = stat
    this.#groups = groups
  }

  /** Any path lookup (getattr, readlink, chmod, chown, utimens): search permission on every directory above it. */
  async lookup(caller: Caller, path: string): Promise<void> {
    await this.#walk(this.#groups.subject(caller), path)
  }

  /** access(2): `mode` is R_OK | W_OK | X_OK, or F_OK (0) for existence. */
  async access(caller: Caller, path: string, mode: number): Promise<void> {
    await this.#need(this.#groups.subject(caller), path, mode & (R_OK | W_OK | X_OK))
  }

  /** open(2) and opendir of an existing file or directory, by its flags. */
  async open(caller: Caller, path: string, flags: number): Promise<void> {
    await this.#need(this.#groups.subject(caller), path, openWants(flags))
  }

  /** truncate(2) by path: write permission on the file. */
  async truncate(caller: Caller, path: string): Promise<void> {
    await this.#need(this.#groups.subject(caller), path, W_OK)
  }

  /** create, mkdir, symlink, mknod: write and search permission on the parent. */
  async create(caller: Caller, path: string): Promise<void> {
    const who = this.#groups.subject(caller)
    this.#want(who, await this.#walk(who, path), parentOf(path), W_OK | X_OK)
  }

  /** unlink, rmdir: write and search on the parent, and the parent's sticky bit. */
  async remove(caller: Caller, path: string): Promise<void> {
    await this.#remove(this.#groups.subject(caller), path)
  }

  /**
   * rename: removing the source from its parent, creating (or replacing) the target in its
   * own; a directory that changes parent also needs write permission on itself (its `..`).
   */
  async rename(caller: Caller, from: string, to: string): Promise<void> {
    const who = this.#groups.subject(caller)
    const source = await this.#remove(who, from)
    const toParent = await this.#walk(who, to)
    this.#want(who, toParent, parentOf(to), W_OK | X_OK)
    const target = await this.#statIfExists(to)
    if (target !== undefined && !stickyAllows(who, toParent, target)) throw new NotPermittedError(`${to}: sticky directory, not the owner`)
    if (isDirectory(source) && parentOf(from) !== parentOf(to)) this.#want(who, source, from, W_OK)
  }

  async #remove(who: Subject, path: string): Promise<Node> {
    const parent = await this.#walk(who, path)
    this.#want(who, parent, parentOf(path), W_OK | X_OK)
    const node = await this.#stat(path)
    if (!stickyAllows(who, parent, node)) throw new NotPermittedError(`${path}: sticky directory, not the owner`)
    return node
  }

  async #need(who: Subject, path: string, want: number): Promise<void> {
    await this.#walk(who, path)
    this.#want(who, await this.#stat(path), path, want)
  }

  #want(who: Subject, node: Node, path: string, want: number): void {
    if (permits(who, node, want)) return
    const missing = [R_OK, W_OK, X_OK].filter(bit => (want & bit) !== 0 && !permits(who, node, bit)).map(bit => NAMES[bit])
    throw new AccessDeniedError(`${path}: no ${missing.join('+')} permission for uid ${who.uid}`)
  }

  /**
   * Checks search permission on the directories above `path`, from the root down, and
   * returns its parent. They are stat'ed together (cached, usually) but judged in order, so
   * the answer is the first failure a path walk would meet: EACCES above ENOENT below it.
   */
  async #walk(who: Subject, path: string): Promise<Node> {
    if (isRoot(path)) return this.#stat('/')
    const dirs = ancestorsOf(path).reverse()
    const nodes = await Promise.allSettled(dirs.map(dir => this.#stat(dir)))
    let parent: Node | undefined
    for (const [i, result] of nodes.entries()) {
      if (result.status === 'rejected') throw result.reason
      parent = result.value
      if (!isDirectory(parent)) throw new NotADirectoryError(`${dirs[i]} is not a directory`)
      this.#want(who, parent, dirs[i] ?? '/', X_OK)
    }
    if (parent === undefined) throw new NotFoundError(`${path}: no parent`)
    return parent
  }

  async #statIfExists(path: string): Promise<Node | undefined> {
    try {
      return await this.#stat(path)
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
  }
}
