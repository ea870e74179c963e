/**
 * Namespace changes (src/metadata/namespace-changes.ts) send their requests through the
 * read path's bounded FetchQueue, at foreground priority: while every slot is taken they
 * wait, and they run before prefetch queued earlier.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { PRIORITY_FOREGROUND, PRIORITY_PREFETCH } from '../../src/cache/fetch-queue.js'
import { buildFilesystem, type Filesystem } from '../../src/daemon/build-filesystem.js'
import { composeClient } from '../../src/s3/client-stack.js'
import { MemoryObjectClient } from '../../src/s3/memory-object-client.js'
import { log, MiB, testSetup } from './harness.js'

async function oneSlotFilesystem(t: Test, store: MemoryObjectClient): Promise<Filesystem> {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-nsq-'))
  const { client } = composeClient(store)
  const setup = { ...testSetup(dir), queue: { concurrency: 1, inFlightBudgetBytes: 64 * MiB, maxQueuedPrefetch: 64 } }
  const fs = await buildFilesystem(setup, { client, log, clock: () => 1_000_000 })
  t.teardown(async () => {
    await fs.close()
    await rm(dir, { recursive: true, force: true })
  })
  return fs
}

async function exists(store: MemoryObjectClient, key: string): Promise<boolean> {
  return store.head(key).then(
    () => true,
    () => false,
  )
}

/** Takes the queue's only slot until the returned function is called. */
function holdSlot(fs: Filesystem): () => void {
  let release = (): void => {}
  const held = new Promise<void>(resolve => (release = resolve))
  void fs.queue.run(0, PRIORITY_FOREGROUND, () => held)
  return release
}

/** Resolves once `n` tasks wait in the queue, or `change` settled first (it did not wait). */
async function queuedOrSettled(fs: Filesystem, n: number, change: Promise<unknown>): Promise<'queued' | 'settled'> {
  let settled = false
  change.then(
    () => (settled = true),
    () => (settled = true),
  )
  for (let i = 0; i < 400; i++) {
    if (settled) return 'settled'
    if (fs.queue.queued >= n) return 'queued'
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return settled ? 'settled' : 'queued'
}

t.test('mkdir waits for a slot of the fetch queue, ahead of prefetch queued before it', async t => {
  const store = new MemoryObjectClient()
  const fs = await oneSlotFilesystem(t, store)
  const release = holdSlot(fs)
  const sawMarker: boolean[] = []
  const prefetch = fs.queue.run(0, PRIORITY_PREFETCH, async () => {
    sawMarker.push(await exists(store, 'made/'))
  })
  const mkdir = fs.core.mkdir('/made')
  t.equal(await queuedOrSettled(fs, 2, mkdir), 'queued', 'the PUT of the marker waits in the queue')
  t.notOk(await exists(store, 'made/'), 'nothing reached the store while the slot was held')
  release()
  await mkdir
  await prefetch
  t.ok(await exists(store, 'made/'))
  t.same(sawMarker, [true], 'the namespace change ran before the prefetch queued earlier')
})

t.test('unlink and rename send their delete and copy through the queue', async t => {
  const store = new MemoryObjectClient()
  store.put('a.txt', 'alpha')
  store.put('b.txt', 'beta')
  const fs = await oneSlotFilesystem(t, store)
  await fs.core.getattr('/a.txt') // lists the root once, outside the held slot
  const release = holdSlot(fs)
  const unlink = fs.core.unlink('/a.txt')
  t.equal(await queuedOrSettled(fs, 1, unlink), 'queued')
  t.ok(await exists(store, 'a.txt'), 'the delete waits')
  const rename = fs.core.rename('/b.txt', '/c.txt')
  t.equal(await queuedOrSettled(fs, 2, rename), 'queued')
  t.notOk(await exists(store, 'c.txt'), 'the copy waits')
  release()
  await Promise.all([unlink, rename])
  t.notOk(await exists(store, 'a.txt'))
  t.notOk(await exists(store, 'b.txt'))
  t.ok(await exists(store, 'c.txt'))
})
