/**
 * An ObjectClient over a SyntheticNamespace, in process and read-only: scale tests drive
 * MetadataStore and the filesystem core over millions of objects without HTTP and without
 * holding the objects in memory (MemoryObjectClient keeps every body and sorts its keys per
 * page). Listings and bytes are those the synthetic S3 server sends; every other call
 * (writes, getPieces) is the inherited empty MemoryObjectClient's.
 */
import { NotFoundError, PreconditionFailedError } from '../../src/errors.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import type { ListPage, ListPageRequest, ObjectClient, ObjectInfo, RangeRequest } from '../../src/s3/object-client.js'
import { SYNTHETIC_LAST_MODIFIED, type SyntheticNamespace } from './synthetic-namespace.js'

/** ListObjectsV2's page bound, as on S3. */
const MAX_KEYS = 1000

export class SyntheticObjectClient extends MemoryObjectClient implements ObjectClient {
  readonly #ns: SyntheticNamespace

  constructor(ns: SyntheticNamespace) {
    super()
    this.#ns = ns
  }

  override async head(key: string): Promise<ObjectInfo> {
    return this.#info(this.#indexOf(key))
  }

  override async listPage(r: ListPageRequest): Promise<ListPage> {
    const token = r.continuationToken
    const page = this.#ns.list(r.prefix, r.delimiter ?? '', token ?? r.startAfter ?? '', Math.min(MAX_KEYS, r.maxKeys ?? MAX_KEYS), token !== undefined)
    return {
      objects: page.objects.map(i => this.#info(i)),
      commonPrefixes: page.prefixes,
      ...(page.last !== undefined ? { nextContinuationToken: page.last } : {}),
    }
  }

  override async getRange(r: RangeRequest): Promise<Buffer> {
    const i = this.#indexOf(r.key)
    const size = this.#ns.size(i)
    if (r.ifMatch !== undefined && `"${r.ifMatch}"` !== this.#ns.etag(i)) throw new PreconditionFailedError(`${r.key}: ETag changed`)
    return Buffer.concat(this.#ns.slices(i, Math.min(r.start, size), Math.min(r.endExclusive, size)))
  }

  #indexOf(key: string): number {
    const i = this.#ns.indexOf(key)
    if (i < 0) throw new NotFoundError(`${key}: no such key`)
    return i
  }

  #info(i: number): ObjectInfo {
    return { key: this.#ns.key(i), size: this.#ns.size(i), etag: this.#ns.etag(i).slice(1, -1), lastModified: SYNTHETIC_LAST_MODIFIED }
  }
}
