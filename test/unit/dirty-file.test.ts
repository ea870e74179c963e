/**
 * DirtyFile's copy-on-write, driven step by step: a copy is being made of a held data
 * file when the hold is released and another write arrives. The write must wait for
 * the copy and land in it, never in the source the copy is about to replace.
 */
import { copyFile, mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DataFile } from '../../src/write/data-file.js'
import { DirtyFile } from '../../src/write/dirty-file.js'
import type { StagingStore } from '../../src/write/staging-store.js'
import { StagingBudget } from '../../src/write/staging-budget.js'

t.test('a write during a copy whose hold was released lands in the copy', async t => {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-df-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  let openGate!: () => void
  const gate = new Promise<void>(resolve => {
    openGate = resolve
  })
  let copies = 0
  const store = {
    dataPath: (name: string) => join(dir, name),
    async cloneData(from: string) {
      const name = `c${++copies}.data`
      await copyFile(join(dir, from), join(dir, name))
      await gate // the copy is made; opening it takes a while
      return { name, handle: await open(join(dir, name), 'r+') }
    },
    async removeData() {},
    budget: new StagingBudget(),
  } as unknown as StagingStore
  const current = new DataFile('a.data', await open(join(dir, 'a.data'), 'w+'), 0, 1)
  const file = new DirtyFile({ id: 'x', path: '/f', key: 'f', store, current, uploadedGeneration: 0, mtimeMs: 0 })
  await file.write(Buffer.from('0123456789'), 0)
  file.setCommitted(await file.snapshot()) // held: the next write must copy first
  const w1 = file.write(Buffer.from('AB'), 0) // starts the copy, which waits at the gate
  await new Promise(r => setTimeout(r, 50)) // the bytes are copied by now
  file.clearCommitted() // the upload finished: the hold is gone while the copy is still running
  const w2 = file.write(Buffer.from('YZ'), 8)
  await new Promise(r => setImmediate(r))
  openGate()
  await Promise.all([w1, w2])
  t.equal((await file.read(0, 10)).toString(), 'AB234567YZ', 'both writes are in the current content')
  t.equal(copies, 1)
  await file.destroy()
})
