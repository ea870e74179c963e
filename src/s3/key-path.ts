/**
 * RFC 3986 percent-encoding with slashes kept: S3's key encoding in a request path (as the
 * SDK does), and byte for byte s3fs-fuse's `urlEncodePath` (letters, digits and `.-_~/`
 * kept, every other byte as %XX), which s3fs also uses for its xattr header.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map(s => encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')
}
