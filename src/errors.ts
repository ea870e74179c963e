/**
 * Typed errors shared by every layer below the FUSE adapter.
 *
 * Layers throw errors that name the situation; only `src/fuse/errno-table.ts`
 * turns them into errno values, and only `src/cli` turns them into exit codes
 * and one-line messages. Each class carries a stable `code` so callers and tests
 * never match on message text.
 */
export abstract class S3CacheFsError extends Error {
  abstract readonly code: string
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The object or prefix does not exist in the bucket. */
export class NotFoundError extends S3CacheFsError {
  readonly code = 'NOT_FOUND'
}

/** The bucket itself does not exist. */
export class NoSuchBucketError extends S3CacheFsError {
  readonly code = 'NO_SUCH_BUCKET'
}

/** The store refused the credentials or the operation. */
export class AccessDeniedError extends S3CacheFsError {
  readonly code = 'ACCESS_DENIED'
}

/** The object changed in the bucket since we learned its ETag (If-Match failed). */
export class PreconditionFailedError extends S3CacheFsError {
  readonly code = 'PRECONDITION_FAILED'
}

/** A ranged GET asked for bytes outside the object. */
export class InvalidRangeError extends S3CacheFsError {
  readonly code = 'INVALID_RANGE'
}

/** The store asked us to slow down (503 SlowDown, 429) and retries ran out. */
export class ThrottledError extends S3CacheFsError {
  readonly code = 'THROTTLED'
}

/** The store answered a server error (5xx) and retries ran out. */
export class RemoteServerError extends S3CacheFsError {
  readonly code = 'REMOTE_SERVER_ERROR'
}

/** The store could not be reached or dropped the connection, and retries ran out. */
export class NetworkError extends S3CacheFsError {
  readonly code = 'NETWORK'
}

/** A request to the store did not finish within its deadline. */
export class RequestTimeoutError extends S3CacheFsError {
  readonly code = 'TIMEOUT'
}

/** The store answered something we cannot interpret. */
export class UnexpectedResponseError extends S3CacheFsError {
  readonly code = 'UNEXPECTED_RESPONSE'
}

/**
 * A response body failed the store's own checksum (an MD5 ETag, an `x-amz-checksum-*`
 * header): corrupted in transfer. Retried like a broken body; never served nor cached.
 */
export class CorruptTransferError extends S3CacheFsError {
  readonly code = 'CORRUPT_TRANSFER'
}

/** A cached block failed its checksum or header check. Never surfaced to readers: it is a miss. */
export class CacheCorruptError extends S3CacheFsError {
  readonly code = 'CACHE_CORRUPT'
}

/** The local cache disk has no room left. */
export class CacheFullError extends S3CacheFsError {
  readonly code = 'CACHE_FULL'
}

/** A path that must be a directory is a file. */
export class NotADirectoryError extends S3CacheFsError {
  readonly code = 'NOT_A_DIRECTORY'
}

/** A path that must be a file is a directory. */
export class IsADirectoryError extends S3CacheFsError {
  readonly code = 'IS_A_DIRECTORY'
}

/** A write was attempted on a read-only mount, or writing is not supported for this path. */
export class ReadOnlyError extends S3CacheFsError {
  readonly code = 'READ_ONLY'
}

/** The operation is not supported by this filesystem (documented in docs/SEMANTICS.md). */
export class NotSupportedError extends S3CacheFsError {
  readonly code = 'NOT_SUPPORTED'
}

/** The path already exists (mkdir of an existing name). */
export class AlreadyExistsError extends S3CacheFsError {
  readonly code = 'ALREADY_EXISTS'
}

/** An argument that does not apply to this object (readlink of something not a symlink: EINVAL). */
export class InvalidArgumentError extends S3CacheFsError {
  readonly code = 'INVALID_ARGUMENT'
}

/** rmdir or rename onto a directory that still has entries. */
export class DirectoryNotEmptyError extends S3CacheFsError {
  readonly code = 'DIRECTORY_NOT_EMPTY'
}

/** Hard links cannot exist in S3: link(2) answers ENOTSUP, as s3fs-fuse and gcsfuse answer it (and s3fs-fuse's suite expects). */
export class HardLinkError extends S3CacheFsError {
  readonly code = 'HARD_LINK'
}

/** The caller may not make this change (chmod/chown/utimens by a non-owner, giving a file away). */
export class NotPermittedError extends S3CacheFsError {
  readonly code = 'NOT_PERMITTED'
}

/** Written data could not be uploaded; it stays staged on local disk. */
export class UploadFailedError extends S3CacheFsError {
  readonly code = 'UPLOAD_FAILED'
}

/** An upload was cancelled because a rename or unlink superseded it. Not a failure of the store. */
export class UploadAbortedError extends S3CacheFsError {
  readonly code = 'UPLOAD_ABORTED'
}

/** Attributes beyond what one object's headers can hold (S3: 2 KiB of user metadata): E2BIG, as setxattr(2) answers. */
export class MetadataTooLargeError extends S3CacheFsError {
  readonly code = 'METADATA_TOO_LARGE'
}

/** An extended attribute the file does not have (getxattr, removexattr): ENODATA. */
export class NoSuchAttributeError extends S3CacheFsError {
  readonly code = 'NO_SUCH_ATTRIBUTE'
}

/** A size or offset beyond what one object can hold (S3: 5 TiB). */
export class FileTooLargeError extends S3CacheFsError {
  readonly code = 'FILE_TOO_LARGE'
}

/**
 * A directory rename too large to do inside one request (it would hold the kernel's
 * locks for minutes). EXDEV: `mv` and most tools then copy the tree themselves.
 */
export class CrossDeviceError extends S3CacheFsError {
  readonly code = 'CROSS_DEVICE'
}

/** A file handle number that is not open. */
export class BadHandleError extends S3CacheFsError {
  readonly code = 'BAD_HANDLE'
}

/** A name that cannot be represented as an S3 key (too long, invalid). */
export class InvalidNameError extends S3CacheFsError {
  readonly code = 'INVALID_NAME'
}

/** Bad configuration or command-line input; the message names the flag and the rule. */
export class ConfigError extends S3CacheFsError {
  readonly code = 'CONFIG'
}

/** The mount point cannot be used (missing, not a directory, not empty, already mounted). */
export class MountPointError extends S3CacheFsError {
  readonly code = 'MOUNT_POINT'
}

/** An operator asked the cache to hold more than it can (load or pin beyond --cache-size). */
export class CacheCapacityError extends S3CacheFsError {
  readonly code = 'CACHE_CAPACITY'
}

/** A `load` the daemon refused, or files it could not load. */
export class LoadFailedError extends S3CacheFsError {
  readonly code = 'LOAD_FAILED'
}

/** Message of any thrown value, for logs and one-line CLI errors. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
