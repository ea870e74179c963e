/**
 * The one table that turns errors into (negative) errno values for FUSE.
 * Anything not listed is EIO. Each row has a unit test in test/unit/errno-table.test.ts.
 */
import { constants } from 'node:os'
import {
  AccessDeniedError,
  AlreadyExistsError,
  DirectoryNotEmptyError,
  BadHandleError,
  CacheFullError,
  InvalidNameError,
  IsADirectoryError,
  NotADirectoryError,
  CrossDeviceError,
  FileTooLargeError,
  InvalidArgumentError,
  HardLinkError,
  MetadataTooLargeError,
  NoSuchAttributeError,
  NotFoundError,
  NotPermittedError,
  NotSupportedError,
  PreconditionFailedError,
  ReadOnlyError,
  RequestTimeoutError,
} from '../errors.js'

const E = constants.errno

type ErrorClass = abstract new (...args: never[]) => Error

const TABLE: ReadonlyArray<readonly [ErrorClass, number]> = [
  [NotFoundError, E.ENOENT],
  [AccessDeniedError, E.EACCES],
  [PreconditionFailedError, E.ESTALE],
  [RequestTimeoutError, E.ETIMEDOUT],
  [CacheFullError, E.ENOSPC],
  [NotADirectoryError, E.ENOTDIR],
  [IsADirectoryError, E.EISDIR],
  [ReadOnlyError, E.EROFS],
  [NotSupportedError, E.ENOTSUP],
  [BadHandleError, E.EBADF],
  [InvalidNameError, E.ENAMETOOLONG],
  [AlreadyExistsError, E.EEXIST],
  [DirectoryNotEmptyError, E.ENOTEMPTY],
  [HardLinkError, E.ENOTSUP],
  [NotPermittedError, E.EPERM],
  [FileTooLargeError, E.EFBIG],
  [CrossDeviceError, E.EXDEV],
  [MetadataTooLargeError, E.E2BIG],
  [NoSuchAttributeError, E.ENODATA],
  [InvalidArgumentError, E.EINVAL],
]

/** The negative errno FUSE should answer for `err`. */
export function errnoOf(err: unknown): number {
  for (const [cls, errno] of TABLE) if (err instanceof cls) return -errno
  return -E.EIO
}
