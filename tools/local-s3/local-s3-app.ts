/**
 * Builds the local S3 server: s3rver 3.7.1 with our middleware spliced into
 * its Koa stack. s3rver's stack after construction is
 *   [koa-logger, XML body encoder, mount path, vhost, router]
 * and Koa composes `app.middleware` only when the server starts listening, so
 * inserting into the array before run() is enough:
 *   [control (stats, faults, control API), koa-logger, XML encoder, mount path,
 *    vhost, fixes (listing, GET/HEAD, aws-chunked), router]
 * The control middleware comes first so every request is counted and can be
 * faulted; the fixes come after vhost so they see the path-style URL s3rver's
 * router would. The store keeps long key segments under hashed names
 * (s3rver-fixes/long-segments.ts). local-s3-server-main.ts runs this in a child process.
 */
import S3rver from 's3rver'
import { controlMiddleware } from './control-middleware.js'
import { FaultInjector } from './fault-injector.js'
import { RequestCounters } from './request-stats.js'
import { s3rverFixesMiddleware } from './s3rver-fixes/fixes-middleware.js'
import { installLongSegments } from './s3rver-fixes/long-segments.js'

export interface LocalS3AppOptions {
  /** Root of s3rver's store; one sub-directory per bucket. Must exist. */
  directory: string
  address: string
  /** 0 picks a free port. */
  port: number
  /** Created at start if missing; existing contents are kept. */
  buckets: string[]
  /** Silence s3rver's per-request log lines. */
  silent: boolean
}

export interface LocalS3App {
  s3rver: S3rver
  counters: RequestCounters
  faults: FaultInjector
}

export function createLocalS3App(options: LocalS3AppOptions): LocalS3App {
  const s3rver = new S3rver({
    address: options.address,
    port: options.port,
    directory: options.directory,
    silent: options.silent,
    resetOnClose: false,
    // Path-style only: with vhost buckets on, any Host that is not an IP or
    // 'localhost' (e.g. the machine's name) would be taken for a bucket.
    vhostBuckets: false,
    configureBuckets: options.buckets.map(name => ({ name })),
  })
  const counters = new RequestCounters()
  const faults = new FaultInjector()

  const vhostIndex = s3rver.middleware.findIndex(fn => fn.name === 'vhost')
  if (vhostIndex === -1) {
    throw new Error("s3rver's Koa stack has no 'vhost' middleware: these fixes are written for s3rver 3.7.1")
  }
  s3rver.middleware.splice(vhostIndex + 1, 0, s3rverFixesMiddleware())
  installLongSegments(s3rver.store)
  s3rver.middleware.unshift(controlMiddleware(counters, faults))
  return { s3rver, counters, faults }
}
