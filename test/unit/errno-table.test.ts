import { constants } from 'node:os'
import t from 'tap'
import * as E from '../../src/errors.js'
import { errnoOf } from '../../src/fuse/errno-table.js'

const n = constants.errno
const rows: Array<[Error, number]> = [
  [new E.NotFoundError('x'), n.ENOENT],
  [new E.AccessDeniedError('x'), n.EACCES],
  [new E.PreconditionFailedError('x'), n.ESTALE],
  [new E.RequestTimeoutError('x'), n.ETIMEDOUT],
  [new E.CacheFullError('x'), n.ENOSPC],
  [new E.NotADirectoryError('x'), n.ENOTDIR],
  [new E.IsADirectoryError('x'), n.EISDIR],
  [new E.ReadOnlyError('x'), n.EROFS],
  [new E.NotSupportedError('x'), n.ENOTSUP],
  [new E.BadHandleError('x'), n.EBADF],
  [new E.InvalidNameError('x'), n.ENAMETOOLONG],
  [new E.InvalidArgumentError('x'), n.EINVAL],
  [new E.NotPermittedError('x'), n.EPERM],
  [new E.HardLinkError('x'), n.ENOTSUP],
  [new E.MetadataTooLargeError('x'), n.E2BIG],
  [new E.NoSuchAttributeError('x'), n.ENODATA],
  [new E.ThrottledError('x'), n.EIO],
  [new E.RemoteServerError('x'), n.EIO],
  [new E.NetworkError('x'), n.EIO],
  [new E.CorruptTransferError('x'), n.EIO],
  [new Error('anything else'), n.EIO],
]
for (const [err, errno] of rows) {
  t.test(`${err.constructor.name} → ${errno}`, async t => {
    t.equal(errnoOf(err), -errno)
  })
}
t.test('non-errors are EIO', async t => {
  t.equal(errnoOf('string'), -n.EIO)
  t.equal(errnoOf(undefined), -n.EIO)
})
