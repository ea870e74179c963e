/**
 * Recognises which S3 operation an HTTP request is, from method, path-style
 * URL and query, without touching s3rver. The request counters, the fault
 * injector and the s3rver fixes all route on this one classification, so a
 * test that asserts "no HEAD" and a fault that targets "rangedGet" agree on
 * what a HEAD or a ranged GET is.
 *
 * Only path-style addressing is understood (`/bucket/key`); the local server
 * is always reached at 127.0.0.1 with `forcePathStyle: true`.
 */
import type { IncomingHttpHeaders } from 'node:http'

export const REQUEST_KINDS = ['getObject', 'rangedGet', 'headObject', 'list', 'putObject', 'multipart', 'copy', 'delete', 'other'] as const

/** One counter per kind; `list` is ListObjectsV2 and ListObjects (v1) only. */
export type RequestKind = (typeof REQUEST_KINDS)[number]

export interface S3Target {
  bucket: string | undefined
  /** Undefined for bucket-level and service-level requests; may end in '/'. */
  key: string | undefined
}

export interface S3RequestInfo extends S3Target {
  method: string
  kind: RequestKind
}

// Query parameters that turn a bucket GET into something other than a listing
// (the union of what s3rver routes and what S3 defines).
const BUCKET_SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'tagging',
  'uploads',
  'versioning',
  'versions',
  'website',
])

// Query parameters that turn an object GET/HEAD/PUT into a sub-resource operation.
const OBJECT_SUBRESOURCES = new Set(['acl', 'attributes', 'legal-hold', 'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads'])

type Query = Record<string, unknown>

/** Splits `/bucket/key…` into its decoded parts; undefined when the path is not decodable. */
export function parseS3Path(path: string): S3Target | undefined {
  const trimmed = path.startsWith('/') ? path.slice(1) : path
  if (trimmed === '') return { bucket: undefined, key: undefined }
  const slash = trimmed.indexOf('/')
  const rawBucket = slash === -1 ? trimmed : trimmed.slice(0, slash)
  const rawKey = slash === -1 ? '' : trimmed.slice(slash + 1)
  try {
    return {
      bucket: decodeURIComponent(rawBucket),
      key: rawKey === '' ? undefined : decodeURIComponent(rawKey),
    }
  } catch {
    return undefined
  }
}

function hasAny(query: Query, names: ReadonlySet<string>): boolean {
  return Object.keys(query).some(name => names.has(name))
}

/** True for GET on a bucket with no sub-resource: ListObjectsV2 or ListObjects. */
export function isListRequest(method: string, target: S3Target, query: Query): boolean {
  return method === 'GET' && target.bucket !== undefined && target.key === undefined && !hasAny(query, BUCKET_SUBRESOURCES)
}

/** True for a plain GetObject or HeadObject (no ?acl, ?tagging, …). */
export function isObjectRead(method: string, target: S3Target, query: Query): boolean {
  return (method === 'GET' || method === 'HEAD') && target.key !== undefined && !hasAny(query, OBJECT_SUBRESOURCES)
}

export function classifyRequest(method: string, path: string, query: Query, headers: IncomingHttpHeaders): S3RequestInfo {
  const target = parseS3Path(path) ?? { bucket: undefined, key: undefined }
  return { ...target, method, kind: kindOf(method, target, query, headers) }
}

function kindOf(method: string, target: S3Target, query: Query, headers: IncomingHttpHeaders): RequestKind {
  if (target.bucket === undefined) return 'other'
  if (target.key === undefined) return bucketKind(method, target, query)
  const multipart = 'uploadId' in query || 'uploads' in query
  switch (method) {
    case 'GET':
      if (multipart) return 'multipart' // ListParts
      if (hasAny(query, OBJECT_SUBRESOURCES)) return 'other'
      return headers.range === undefined ? 'getObject' : 'rangedGet'
    case 'HEAD':
      return 'headObject'
    case 'PUT':
      if (multipart) return 'multipart' // UploadPart, UploadPartCopy
      if (hasAny(query, OBJECT_SUBRESOURCES)) return 'other'
      return headers['x-amz-copy-source'] === undefined ? 'putObject' : 'copy'
    case 'POST':
      return multipart ? 'multipart' : 'other'
    case 'DELETE':
      if (multipart) return 'multipart' // AbortMultipartUpload
      return hasAny(query, OBJECT_SUBRESOURCES) ? 'other' : 'delete'
    default:
      return 'other'
  }
}

function bucketKind(method: string, target: S3Target, query: Query): RequestKind {
  if (isListRequest(method, target, query)) return 'list'
  if (method === 'GET' && 'uploads' in query) return 'multipart' // ListMultipartUploads
  if (method === 'POST' && 'delete' in query) return 'delete' // DeleteObjects
  return 'other'
}
