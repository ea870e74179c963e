import t from 'tap'
import { AccessDeniedError, NotPermittedError } from '../../src/errors.js'
import { NOW_TOLERANCE_MS, UTIME_NOW, UTIME_OMIT, allowedChmod, checkChown, checkUtimens, explicitTimes } from '../../src/fuse/owner-rules.js'

const S_IFREG = 0o100000
const root = { uid: 0, gid: 0, pid: 0 }
const owner = { uid: 1000, gid: 1000, pid: 0 } // pid 0: no supplementary groups are read
const other = { uid: 2000, gid: 2000, pid: 0 }
const file = { uid: 1000, gid: 1000, mode: S_IFREG | 0o644 }

t.test('chmod: root and the owner; S_ISGID dropped when the owner is not in the group', async t => {
  t.equal(allowedChmod(root, file, '/f', 0o2755), 0o2755)
  t.equal(allowedChmod(owner, file, '/f', 0o2755), 0o2755)
  t.equal(allowedChmod(owner, { ...file, gid: 5 }, '/f', 0o2755), 0o755)
  t.throws(() => allowedChmod(other, file, '/f', 0o600), NotPermittedError)
  const suid = { ...file, mode: S_IFREG | 0o6777 }
  t.equal(allowedChmod(other, suid, '/f', 0o777), 0o777, 'a writer clears S_ISUID/S_ISGID (the kernel does at its write)')
  t.throws(() => allowedChmod(other, suid, '/f', 0o775), NotPermittedError, 'and nothing else')
  t.throws(() => allowedChmod(other, { ...file, mode: S_IFREG | 0o6775 }, '/f', 0o775), NotPermittedError, 'only if it may write')
})

t.test('chown: root anything; the owner keeps the uid and sets only its own groups', async t => {
  t.doesNotThrow(() => checkChown(root, file, '/f', 5, 6))
  t.doesNotThrow(() => checkChown(owner, file, '/f', 1000, 1000))
  t.doesNotThrow(() => checkChown(owner, file, '/f', undefined, undefined))
  t.throws(() => checkChown(owner, file, '/f', 5, undefined), NotPermittedError, 'gives it away')
  t.throws(() => checkChown(owner, file, '/f', undefined, 5), NotPermittedError, 'a foreign group')
  t.throws(() => checkChown(other, file, '/f', undefined, 2000), NotPermittedError, 'not the owner')
})

t.test('utimens: explicit times by the owner only; now by whoever may write', async t => {
  t.doesNotThrow(() => checkUtimens(owner, file, '/f', true))
  t.throws(() => checkUtimens(other, file, '/f', true), NotPermittedError)
  t.throws(() => checkUtimens(other, file, '/f', false), AccessDeniedError)
  t.doesNotThrow(() => checkUtimens(other, { ...file, mode: S_IFREG | 0o666 }, '/f', false))
})

t.test("utimens: the kernel's stamp of now (no writeback cache: UTIME_NOW arrives as the current time) is not explicit", async t => {
  const now = 1_800_000_000_000
  t.notOk(explicitTimes(UTIME_NOW, UTIME_NOW, now))
  t.notOk(explicitTimes(now - 30, now - 30, now), 'touch: both the current time, stamped a moment ago')
  t.notOk(explicitTimes(now + NOW_TOLERANCE_MS, UTIME_OMIT, now))
  t.ok(explicitTimes(now - NOW_TOLERANCE_MS - 1, now, now), 'too far from now')
  t.ok(explicitTimes(1_900_000_000_000, UTIME_OMIT, now))
  t.ok(explicitTimes(UTIME_OMIT, 1_000, now))
})
