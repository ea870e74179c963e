/**
 * What MetadataStore starts in the background after a readdir, bounded and never awaited:
 * - the first LIST page of the listed directory's subdirectories, because `find`, `ls -R`
 *   and ImageFolder descend into them next;
 * - in head mode (`--posix-metadata head`), one HEAD per child without attributes,
 *   because `ls -l` stats every entry next.
 * Failures are logged at debug: the foreground asks again when it needs the answer.
 */
import PQueue from 'p-queue'
import type { Logger } from 'pino'
import type { DirListing } from './entry.js'
import { joinPath } from './paths.js'

/**
 * Subdirectory listings started in the background after a readdir (ImageNet has 1,000 classes),
 * each of its first LIST page only: a subdirectory of one page is listed in full, a larger one
 * only has its first 1,000 entries remembered, so the background never spends more than one
 * request per subdirectory however large they are...
 */
const SUBDIR_PREFETCH_PER_LISTING = 1024
export const SUBDIR_PREFETCH_PAGES = 1
/** ...at most this many at once, and not when this many already wait. */
const SUBDIR_PREFETCH_CONCURRENCY = 8
const SUBDIR_PREFETCH_MAX_QUEUED = 1024
/** Head mode: attribute HEADs after a readdir, this many at once (s3fs-fuse runs its HEADs in parallel too)... */
const ATTRIBUTE_PREFETCH_CONCURRENCY = 16
/** ...and at most this many waiting (a huge directory's later entries are read on their own stat). */
const ATTRIBUTE_PREFETCH_MAX_QUEUED = 10_000

export class BackgroundMetadata {
  readonly #log: Logger
  readonly #subdirQueue = new PQueue({ concurrency: SUBDIR_PREFETCH_CONCURRENCY })
  readonly #attrQueue = new PQueue({ concurrency: ATTRIBUTE_PREFETCH_CONCURRENCY })

  constructor(log: Logger) {
    this.#log = log
  }

  /** Lists the first page of the subdirectories of `path` not listed yet (`listed`), with `list`. */
  subdirectories(path: string, listing: DirListing, listed: (child: string) => boolean, list: (child: string, prefix: string) => Promise<unknown>): void {
    let started = 0
    for (const [name, entry] of listing.children) {
      if (started >= SUBDIR_PREFETCH_PER_LISTING || this.#subdirQueue.size >= SUBDIR_PREFETCH_MAX_QUEUED) return
      if (entry.kind !== 'dir') continue
      const child = joinPath(path, name)
      if (listed(child)) continue
      started++
      this.#subdirQueue
        .add(async () => (listed(child) ? undefined : list(child, entry.prefix)))
        .catch((err: unknown) => this.#log.debug({ err, path: child }, 'background listing failed'))
    }
  }

  /** Reads the attributes of the children of `path` that have none yet, with `stat`. */
  attributes(path: string, listing: DirListing, stat: (child: string) => Promise<unknown>): void {
    for (const [name, entry] of listing.children) {
      if (this.#attrQueue.size >= ATTRIBUTE_PREFETCH_MAX_QUEUED) return
      if (entry.attrs !== undefined) continue
      const child = joinPath(path, name)
      this.#attrQueue.add(() => stat(child)).catch((err: unknown) => this.#log.debug({ err, path: child }, 'background HEAD failed'))
    }
  }
}
