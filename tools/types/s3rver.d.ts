// Minimal typings for s3rver 3.7.1 (CommonJS, ships no types) and the slice of its
// Koa 2 context that tools/local-s3/ touches. Only tools/local-s3/ imports it. Only what we
// use is declared, so a version bump that changes it fails here, not at run time.
declare module 's3rver' {
  import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
  import type { AddressInfo } from 'node:net'

  /** Object metadata as FilesystemStore.getMetadata returns it (header names, lower case). */
  export interface StoredMetadata {
    etag: string // JSON-quoted MD5, e.g. "\"9e10...\""
    'last-modified': string // Date#toUTCString of the file's mtime
    'content-length': number
    'content-type'?: string
    [header: string]: string | number | undefined
  }

  /** s3rver's on-disk store (lib/stores/filesystem.js). */
  export interface FilesystemStore {
    rootDirectory: string
    getBucketPath(bucket: string): string
    getResourcePath(bucket: string, key: string | undefined, resource: string): string
    /** Throws an error with code ENOENT when the object does not exist. */
    getMetadata(bucket: string, key: string): Promise<StoredMetadata>
    getBucket(bucket: string): Promise<{ name: string } | null>
    putBucket(bucket: string): Promise<unknown>
    deleteObject(bucket: string, key: string): Promise<void>
  }

  /** The part of a Koa 2 context our middleware uses. */
  export interface KoaContext {
    req: IncomingMessage
    res: ServerResponse
    app: S3rver
    method: string
    path: string
    query: Record<string, string | string[] | undefined>
    /** `body` is what s3rver's own parsers left (CompleteMultipartUpload's XML, parsed). */
    request: { body?: unknown }
    headers: IncomingHttpHeaders
    status: number
    // Koa accepts string | Buffer | Stream | object | null here; callers assign concrete types.
    body: unknown
    length: number
    type: string
    respond: boolean
    get(field: string): string
    set(field: string, value: string): void
    remove(field: string): void
  }

  export type KoaNext = () => Promise<void>
  export type KoaMiddleware = (ctx: KoaContext, next: KoaNext) => Promise<void> | void

  export interface S3rverOptions {
    address?: string
    port?: number
    directory?: string
    silent?: boolean
    resetOnClose?: boolean
    allowMismatchedSignatures?: boolean
    vhostBuckets?: boolean
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>
  }

  export default class S3rver {
    constructor(options: S3rverOptions)
    /** Koa's middleware stack; s3rver's own handlers are already in it after construction. */
    middleware: KoaMiddleware[]
    store: FilesystemStore
    httpServer?: Server
    run(): Promise<AddressInfo>
    close(): Promise<void>
    // Koa extends EventEmitter; s3rver emits 'error' (err, ctx) for every failed request.
    on(event: string, listener: (...args: any[]) => void): this
  }
}
