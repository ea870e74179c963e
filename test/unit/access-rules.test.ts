import t from 'tap'
import { openWants, permits, R_OK, stickyAllows, W_OK, X_OK } from '../../src/fuse/access-rules.js'
import { CallerGroups, parseGroupsLine, readProcGroups } from '../../src/fuse/access-groups.js'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const subject = (uid: number, groups: number[] = []) => ({ uid, inGroup: (gid: number) => groups.includes(gid) })
const root = subject(0)
const owner = subject(1000, [1000])
const member = subject(2000, [2000, 50])
const other = subject(3000, [3000])
const file = (mode: number) => ({ mode: S_IFREG | mode, uid: 1000, gid: 50 })
const dir = (mode: number, uid = 1000) => ({ mode: S_IFDIR | mode, uid, gid: 50 })

t.test('owner, group and other bits: the first class that matches decides', async t => {
  const f = file(0o640)
  t.ok(permits(owner, f, R_OK | W_OK))
  t.notOk(permits(owner, f, X_OK))
  t.ok(permits(member, f, R_OK))
  t.notOk(permits(member, f, W_OK))
  t.notOk(permits(other, f, R_OK))
  t.ok(permits(other, f, 0), 'F_OK: existence only')
  t.notOk(permits(owner, file(0o077), R_OK), 'the owner class decides even when group and other would allow')
  t.notOk(permits(member, file(0o607), R_OK), 'the group class decides over other')
  t.ok(permits(other, file(0o007), R_OK | W_OK | X_OK))
})

t.test('root reads and writes anything, searches any directory, executes only with some x bit', async t => {
  t.ok(permits(root, file(0), R_OK | W_OK))
  t.notOk(permits(root, file(0o644), X_OK))
  t.ok(permits(root, file(0o001), X_OK))
  t.ok(permits(root, dir(0), X_OK | R_OK | W_OK))
})

t.test('sticky directories: only root, the directory owner or the entry owner remove an entry', async t => {
  const sticky = dir(0o1777, 1000)
  const theirs = { mode: S_IFREG | 0o666, uid: 2000, gid: 2000 }
  t.ok(stickyAllows(subject(2000), sticky, theirs), 'the entry owner')
  t.ok(stickyAllows(owner, sticky, theirs), 'the directory owner')
  t.ok(stickyAllows(root, sticky, theirs))
  t.notOk(stickyAllows(other, sticky, theirs))
  t.ok(stickyAllows(other, dir(0o777), theirs), 'no sticky bit')
})

t.test('open wants its access mode, and write for O_TRUNC', async t => {
  t.equal(openWants(0), R_OK)
  t.equal(openWants(1), W_OK)
  t.equal(openWants(2), R_OK | W_OK)
  t.equal(openWants(0o1000), R_OK | W_OK, 'O_RDONLY|O_TRUNC')
  t.equal(openWants(0o2001), W_OK, 'O_WRONLY|O_APPEND')
  t.equal(openWants(0o200000), R_OK, 'O_DIRECTORY')
})

t.test('supplementary groups: parsed from /proc/PID/status, read once per pid while cached', async t => {
  t.same(parseGroupsLine('Name:\tx\nGroups:\t4 24 27 \nNSpid:\t1\n'), [4, 24, 27])
  t.same(parseGroupsLine('Groups:\t\n'), [])
  t.same(parseGroupsLine('Name:\tx\n'), [])
  let reads = 0
  const groups = new CallerGroups(pid => {
    reads++
    return pid === 7 ? [50] : []
  })
  const who = groups.subject({ uid: 2000, gid: 2000, pid: 7 })
  t.ok(who.inGroup(2000), 'the primary group needs no read')
  t.equal(reads, 0)
  t.ok(who.inGroup(50))
  t.notOk(who.inGroup(51))
  t.equal(reads, 1, 'cached per pid')
  t.notOk(groups.subject({ uid: 1, gid: 1, pid: 0 }).inGroup(50), 'no pid: no supplementary groups')
  t.equal(reads, 1)
  t.same(readProcGroups(2 ** 30), [], 'a process that is gone has none')
})
