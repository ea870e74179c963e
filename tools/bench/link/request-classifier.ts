// Names an S3 request's type from its method, URL and Range header, for the
// cost counters. Path-style addressing is assumed (`/bucket/key`), which is
// what every system in the benchmark uses against the local endpoint.

export const REQUEST_TYPES = ['GET', 'GET_RANGE', 'HEAD', 'LIST', 'PUT', 'OTHER'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

/** Sub-resources that turn a GET into something other than reading data or listing. */
const NON_DATA_SUBRESOURCES = ['acl', 'tagging', 'location', 'versioning', 'policy', 'cors', 'uploads', 'uploadId', 'website', 'lifecycle'];

export function classifyRequest(method: string | undefined, rawUrl: string | undefined, range: string | undefined): RequestType {
  const url = new URL(rawUrl ?? '/', 'http://x');
  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  const hasKey = segments.length >= 2;
  const isSubresource = NON_DATA_SUBRESOURCES.some((name) => url.searchParams.has(name));
  switch ((method ?? '').toUpperCase()) {
    case 'HEAD':
      return 'HEAD';
    case 'PUT':
      return 'PUT';
    case 'GET':
      if (isSubresource) return 'OTHER';
      if (!hasKey) return segments.length === 1 ? 'LIST' : 'OTHER';
      return range ? 'GET_RANGE' : 'GET';
    default:
      return 'OTHER';
  }
}

/** The bucket a path-style request names ('' for the service root), so the link can count a tier bucket apart from the origin. */
export function bucketOf(rawUrl: string | undefined): string {
  const first = new URL(rawUrl ?? '/', 'http://x').pathname.split('/').find((s) => s.length > 0);
  return first === undefined ? '' : decodeURIComponent(first);
}

export function emptyCounts(): Record<RequestType, number> {
  return { GET: 0, GET_RANGE: 0, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 };
}
