/**
 * The block files of the disk cache, one file per block (format in block-file-format.ts):
 *
 *   blocks/<aa>/<objectId>.<blockIndex>   the blocks
 *   tmp/                                   blocks being written (write, then rename)
 *
 * Reading is one positioned read of header and data through a bounded cache of open
 * descriptors (OpenBlockFiles), the data straight into the caller's buffer, then the
 * header and CRC checked. Writing is to a temporary file renamed into place. Every
 * path unlinked or replaced has its cached descriptor dropped first, so a descriptor
 * never serves a block the index no longer holds. Knows nothing of the index.
 */
import { close, open, writev } from 'node:fs'
import { mkdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CacheCorruptError } from '../../errors.js'
import { blockHeader, blockHeaderBytes, verifyBlock } from '../block-file-format.js'
import { type BlockFileListener, OpenBlockFiles, openFilesBudget } from '../open-block-files.js'
import { type BlockId, blockKey } from './disk-cache-types.js'

/** What reading one block found. */
export type BlockRead =
  | { readonly kind: 'hit'; readonly fileBytes: number }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unreadable'; readonly err: unknown }
  | { readonly kind: 'corrupt'; readonly reason: string }

export class BlockFiles {
  readonly #dir: string
  /** Open descriptors of block files: a hit is one positioned read. */
  readonly #files = new OpenBlockFiles(openFilesBudget())
  /** Unlinks under way (a snapshot of the index is written only once they are done). */
  readonly #unlinks = new Set<Promise<void>>()
  /** Names of temporary files in tmp/ (emptied at start, under the cache lock): unique within this process. */
  #tmpSeq = 0

  private constructor(dir: string) {
    this.#dir = dir
  }

  /** Prepares `dir` (blocks/, an empty tmp/). */
  static async open(dir: string): Promise<BlockFiles> {
    await mkdir(join(dir, 'blocks'), { recursive: true })
    await rm(join(dir, 'tmp'), { recursive: true, force: true })
    await mkdir(join(dir, 'tmp'), { recursive: true })
    return new BlockFiles(dir)
  }

  get blocksDir(): string {
    return join(this.#dir, 'blocks')
  }

  /** Reads the block into `target[0, expectedLength)` and checks it. */
  async read(id: BlockId, expectedLength: number, target: Buffer): Promise<BlockRead> {
    const path = this.pathOf(id)
    const header = Buffer.allocUnsafe(blockHeaderBytes(expectedLength))
    const data = target.subarray(0, expectedLength)
    let n: number
    try {
      n = await this.#files.readv(path, [header, data])
    } catch (err) {
      this.#files.drop(path)
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unreadable', err }
    }
    try {
      verifyBlock(header, data, n, expectedLength)
    } catch (err) {
      if (!(err instanceof CacheCorruptError)) throw err
      this.unlink(id)
      return { kind: 'corrupt', reason: err.message }
    }
    return { kind: 'hit', fileBytes: n }
  }

  /** Writes the block (header + data) to a temporary file and renames it into place. */
  async write(id: BlockId, data: Buffer): Promise<void> {
    // A number, not random bytes: those cost 1 % of a cold sequential read's daemon CPU (session 21).
    const tmp = join(this.#dir, 'tmp', String(++this.#tmpSeq))
    const dest = this.pathOf(id)
    const header = blockHeader(data)
    // A descriptor of a file this one replaced must not serve it.
    const placed = (): void => this.#files.written(dest, header)
    try {
      await this.#files.write(tmp, dest, header, data, async () => {
        await writeWhole(tmp, [header, data])
        await rename(tmp, dest)
        placed()
      })
    } catch (err) {
      // The first block under its blocks/<aa>/ directory: made, and the rename done again.
      const e = err as NodeJS.ErrnoException
      if (e.code !== 'ENOENT' || e.syscall !== 'rename') throw err
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(tmp, dest)
      placed()
    }
  }

  /** Removes a block file; its cached descriptor goes first, so it is never read again. */
  unlink(id: BlockId): void {
    const path = this.pathOf(id)
    this.#files.drop(path)
    const p: Promise<void> = unlink(path)
      .catch(() => {})
      .finally(() => this.#unlinks.delete(p))
    this.#unlinks.add(p)
  }

  /** Resolves once every unlink started so far is done. */
  async unlinksSettled(): Promise<void> {
    await Promise.all([...this.#unlinks])
  }

  get cacheDir(): string {
    return this.#dir
  }

  /** Forgets the descriptor of a block file (the index dropped it; the file may stay). */
  forget(id: BlockId): void {
    this.#files.drop(this.pathOf(id))
  }

  /** The common prefix of an object's block files: block i is this followed by i. */
  prefixOf(objectId: string): string {
    return this.pathOf({ objectId, index: 0 }).slice(0, -1)
  }

  pathOf(id: BlockId): string {
    return join(this.#dir, 'blocks', id.objectId.slice(0, 2), blockKey(id.objectId, id.index))
  }

  closeAll(): void {
    this.#files.closeAll()
  }

  /** Told of every block file let go here, from now on (another reader keeps them open too). */
  set listener(listener: BlockFileListener) {
    this.#files.listener = listener
  }
}

/**
 * Creates `path` holding `buffers`, through fs's callback API (one promise for open,
 * writev and close: this runs for every block fetched, and each FileHandle promise is
 * event-loop time). A short write (only on a full disk, which fails the next call) is an error;
 * a file that failed is removed, so its partial bytes take no room until the next start.
 */
function writeWhole(path: string, buffers: Buffer[]): Promise<void> {
  const bytes = buffers.reduce((n, b) => n + b.length, 0)
  return new Promise((resolve, reject) => {
    open(path, 'w', (err, fd) => {
      if (err !== null) return reject(err)
      writev(fd, buffers, (werr, written) => {
        close(fd, cerr => {
          const fail =
            werr ?? cerr ?? (written === bytes ? null : Object.assign(new Error(`short write to ${path}: ${written} of ${bytes} bytes`), { code: 'ENOSPC' }))
          if (fail === null) resolve()
          else
            unlink(path).then(
              () => reject(fail),
              () => reject(fail),
            )
        })
      })
    })
  })
}
