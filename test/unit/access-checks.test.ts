import t from 'tap'
import { AccessDeniedError, NotADirectoryError, NotFoundError, NotPermittedError } from '../../src/errors.js'
import { AccessChecks } from '../../src/fuse/access-checks.js'
import { CallerGroups } from '../../src/fuse/access-groups.js'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const ROOT = 0
const OWNER = 1000
const OTHER = 3000

// A tree as stat(2) shows it; `groups` by pid: pid 9 is in group 50.
const tree: Record<string, { mode: number; uid: number; gid: number }> = {
  '/': { mode: S_IFDIR | 0o755, uid: ROOT, gid: ROOT },
  '/home': { mode: S_IFDIR | 0o755, uid: OWNER, gid: OWNER },
  '/home/f': { mode: S_IFREG | 0o644, uid: OWNER, gid: OWNER },
  '/home/secret': { mode: S_IFREG | 0o600, uid: OWNER, gid: OWNER },
  '/home/team': { mode: S_IFREG | 0o660, uid: OWNER, gid: 50 },
  '/private': { mode: S_IFDIR | 0o700, uid: OWNER, gid: OWNER },
  '/private/f': { mode: S_IFREG | 0o666, uid: OWNER, gid: OWNER },
  '/pub': { mode: S_IFDIR | 0o1777, uid: ROOT, gid: ROOT },
  '/pub/roots': { mode: S_IFREG | 0o666, uid: ROOT, gid: ROOT },
  '/pub/mine': { mode: S_IFREG | 0o600, uid: OTHER, gid: OTHER },
  '/pub/d': { mode: S_IFDIR | 0o755, uid: OTHER, gid: OTHER },
  '/open': { mode: S_IFDIR | 0o777, uid: ROOT, gid: ROOT },
  '/open/rod': { mode: S_IFDIR | 0o555, uid: OTHER, gid: OTHER },
}
const stat = async (path: string) => {
  const node = tree[path]
  if (node === undefined) throw new NotFoundError(path)
  return node
}
const checks = new AccessChecks(stat, new CallerGroups(pid => (pid === 9 ? [50] : [])))
const as = (uid: number, pid = 1) => ({ uid, gid: uid, pid })

t.test('lookups need search permission on every directory above, judged from the root down', async t => {
  await t.resolves(checks.lookup(as(OTHER), '/home/f'))
  await t.rejects(checks.lookup(as(OTHER), '/private/f'), AccessDeniedError)
  await t.rejects(checks.lookup(as(OTHER), '/private/nothing'), AccessDeniedError, 'EACCES before ENOENT')
  await t.rejects(checks.lookup(as(OTHER), '/nothing/f'), NotFoundError)
  await t.rejects(checks.lookup(as(OTHER), '/home/f/x'), NotADirectoryError)
  await t.resolves(checks.lookup(as(OWNER), '/private/f'))
  await t.resolves(checks.lookup(as(ROOT), '/private/f'))
  await t.resolves(checks.lookup(as(OTHER), '/'))
})

t.test('open and access by flags and mode; supplementary groups count', async t => {
  await t.resolves(checks.open(as(OTHER), '/home/f', 0))
  await t.rejects(checks.open(as(OTHER), '/home/f', 1), AccessDeniedError, 'O_WRONLY')
  await t.rejects(checks.open(as(OTHER), '/home/f', 0o1000), AccessDeniedError, 'O_RDONLY|O_TRUNC')
  await t.rejects(checks.open(as(OTHER), '/home/secret', 0), AccessDeniedError)
  await t.resolves(checks.open(as(OTHER, 9), '/home/team', 2), 'a supplementary group')
  await t.rejects(checks.open(as(OTHER), '/home/team', 0), AccessDeniedError)
  await t.resolves(checks.access(as(OTHER), '/home/f', 4))
  await t.resolves(checks.access(as(OTHER), '/home/secret', 0), 'F_OK')
  await t.rejects(checks.access(as(OTHER), '/home/f', 2), AccessDeniedError)
  await t.rejects(checks.access(as(ROOT), '/home/f', 1), AccessDeniedError, 'root executes only with an x bit')
  await t.rejects(checks.truncate(as(OTHER), '/home/f'), AccessDeniedError)
  await t.resolves(checks.truncate(as(OWNER), '/home/f'))
})

t.test('create and remove need write and search on the parent; the sticky bit guards others’ entries', async t => {
  await t.rejects(checks.create(as(OTHER), '/home/new'), AccessDeniedError)
  await t.resolves(checks.create(as(OWNER), '/home/new'))
  await t.resolves(checks.create(as(OTHER), '/pub/new'))
  await t.rejects(checks.remove(as(OTHER), '/home/f'), AccessDeniedError)
  await t.rejects(checks.remove(as(OTHER), '/pub/roots'), NotPermittedError, 'sticky: EPERM')
  await t.resolves(checks.remove(as(OTHER), '/pub/mine'))
  await t.resolves(checks.remove(as(ROOT), '/pub/mine'))
  await t.rejects(checks.remove(as(OTHER), '/pub/nothing'), NotFoundError)
})

t.test('rename: both parents, both sticky bits, and a directory moving to another parent needs write on itself', async t => {
  await t.resolves(checks.rename(as(OTHER), '/pub/mine', '/pub/new'))
  await t.rejects(checks.rename(as(OTHER), '/pub/mine', '/home/new'), AccessDeniedError, 'target parent not writable')
  await t.rejects(checks.rename(as(OTHER), '/pub/roots', '/pub/new'), NotPermittedError, 'source in a sticky dir')
  await t.rejects(checks.rename(as(OTHER), '/pub/mine', '/pub/roots'), NotPermittedError, 'replaced target in a sticky dir')
  await t.resolves(checks.rename(as(OTHER), '/pub/d', '/open/d'))
  await t.rejects(checks.rename(as(OTHER), '/open/rod', '/pub/rod'), AccessDeniedError, 'its .. must change')
  await t.resolves(checks.rename(as(OTHER), '/open/rod', '/open/rod2'), 'same parent: .. unchanged')
})
