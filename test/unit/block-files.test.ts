/**
 * BlockFiles' writes when the listener (the FUSE binding) writes a block file in one step of
 * its own (vendor/fuse-native/block-writes.h: open, writev, close, rename and keep it open, in one
 * thread-pool task). Here the listener does the same with fs, as a stand-in: the binding itself is
 * exercised by every mount test. Checked: a block replaced this way is never read through a
 * descriptor of the file it replaced; the first block under a new blocks/<aa>/ directory (the
 * listener's rename fails with ENOENT) is renamed into place by BlockFiles and handed to the
 * listener as written; any other failure is the write's; without a listener's write, fs's path.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { BlockFiles } from '../../src/cache/disk/block-files.js'
import type { BlockFileListener } from '../../src/cache/open-block-files.js'

const OBJECT = 'ab'.repeat(16)

interface Calls {
  writes: string[]
  written: string[]
  failWith?: NodeJS.ErrnoException
}

function listener(calls: Calls, oneStep: boolean): BlockFileListener {
  return {
    drop: () => {},
    written: path => calls.written.push(path),
    dropAll: () => {},
    ...(oneStep
      ? {
          write: async (tmp: string, dest: string, header: Buffer, data: Buffer) => {
            calls.writes.push(dest)
            if (calls.failWith !== undefined) throw calls.failWith
            writeFileSync(tmp, Buffer.concat([header, data]))
            renameSync(tmp, dest) // throws ENOENT (syscall 'rename') when dest's directory is missing, as the binding's does
          },
        }
      : {}),
  }
}

async function setup(t: Test, oneStep: boolean): Promise<{ files: BlockFiles; calls: Calls }> {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-block-files-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const files = await BlockFiles.open(dir)
  const calls: Calls = { writes: [], written: [] }
  files.listener = listener(calls, oneStep)
  t.teardown(() => files.closeAll())
  return { files, calls }
}

async function readBack(files: BlockFiles, index: number, length: number): Promise<Buffer | undefined> {
  const target = Buffer.alloc(length)
  const got = await files.read({ objectId: OBJECT, index }, length, target)
  return got.kind === 'hit' ? target : undefined
}

t.test('a block written in one step by the listener: in place, never read through the file it replaced', async t => {
  const { files, calls } = await setup(t, true)
  const first = randomBytes(100_000)
  await files.write({ objectId: OBJECT, index: 0 }, first)
  t.same(calls.written, [files.pathOf({ objectId: OBJECT, index: 0 })], 'the first block under a new directory: renamed by BlockFiles, handed over as written')
  t.ok((await readBack(files, 0, first.length))?.equals(first), 'read back')
  // Replaced: BlockFiles holds a descriptor of the first file now.
  const second = randomBytes(100_000)
  await files.write({ objectId: OBJECT, index: 0 }, second)
  t.equal(calls.writes.length, 2, 'both written by the listener')
  t.equal(calls.written.length, 1, 'the second in one step (the listener keeps it itself)')
  t.ok((await readBack(files, 0, second.length))?.equals(second), 'the new bytes, not the replaced file through a kept descriptor')
  const third = randomBytes(5000)
  await files.write({ objectId: OBJECT, index: 1 }, third)
  t.equal(calls.written.length, 1, 'another block in the same directory: in one step')
  t.ok((await readBack(files, 1, third.length))?.equals(third))
})

t.test("the listener's failures are the write's", async t => {
  const { files, calls } = await setup(t, true)
  calls.failWith = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })
  await t.rejects(files.write({ objectId: OBJECT, index: 0 }, randomBytes(1000)), { code: 'ENOSPC' })
  t.equal(await readBack(files, 0, 1000), undefined, 'nothing in place')
  calls.failWith = Object.assign(new Error('ENOENT: no such file or directory, open'), { code: 'ENOENT', syscall: 'open' })
  await t.rejects(
    files.write({ objectId: OBJECT, index: 0 }, randomBytes(1000)),
    { code: 'ENOENT', syscall: 'open' },
    'ENOENT but not of the rename: not retried',
  )
})

t.test("without a listener's write, fs's path, each block handed over as written", async t => {
  const { files, calls } = await setup(t, false)
  const data = [randomBytes(3000), randomBytes(4000)]
  await files.write({ objectId: OBJECT, index: 0 }, data[0] as Buffer)
  await files.write({ objectId: OBJECT, index: 0 }, data[1] as Buffer)
  t.equal(calls.written.length, 2)
  t.ok((await readBack(files, 0, 4000))?.equals(data[1] as Buffer))
})
