/**
 * WholeObjects (src/cache/whole-objects.ts), the copies `--passthrough` hands to the kernel,
 * over real files with a stand-in for the block cache (blocks in memory, each present or not).
 * Checked: a copy holds exactly the object's bytes and is made only when every block is on
 * disk; a block gone in the middle leaves no copy and no temp file; the budget removes the
 * least recently opened copies, files and all; a copy is not used past its blocks' expiry; a
 * freed object's copy goes; copies found at a start are used only while their blocks are on
 * disk, and what a crash left in tmp/ (or anything else) is removed.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import type { ObjectVersion } from '../../src/cache/object-version.js'
import { WholeObjects, type WholeObjectSource } from '../../src/cache/whole-objects.js'

const BS = 64 * 1024
const log = pino({ level: 'silent' })

interface Store {
  data: Map<string, Buffer>
  /** Blocks not on disk, as `key#index`. */
  missing: Set<string>
  /** Blocks that vanish when read (evicted while the copy is made). */
  vanish: Set<string>
  forMs: number
}

function source(store: Store): WholeObjectSource {
  const id = (obj: ObjectVersion) =>
    Buffer.from(obj.key + obj.etag)
      .toString('hex')
      .padEnd(40, '0')
      .slice(0, 40)
  return {
    objectId: id,
    onDiskFor: obj => {
      for (let i = 0; i * BS < obj.size; i++) if (store.missing.has(`${obj.key}#${i}`)) return undefined
      return store.forMs
    },
    readBlockFromDisk: async (obj, index, target) => {
      const k = `${obj.key}#${index}`
      if (store.missing.has(k) || store.vanish.has(k)) return false
      ;(store.data.get(obj.key) as Buffer).copy(target, 0, index * BS, index * BS + target.length)
      return true
    },
    blockSize: BS,
  }
}

async function setup(
  t: Test,
  maxBytes = 1 << 20,
): Promise<{ dir: string; store: Store; whole: WholeObjects; put: (key: string, bytes: number) => ObjectVersion }> {
  const root = await mkdtemp(join(tmpdir(), 's3cachefs-whole-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dir = join(root, 'whole')
  const store: Store = { data: new Map(), missing: new Set(), vanish: new Set(), forMs: Infinity }
  const whole = new WholeObjects({ dir, maxBytes, minObjectBytes: 100_000 }, source(store), log)
  await whole.open()
  const put = (key: string, bytes: number): ObjectVersion => {
    store.data.set(key, randomBytes(bytes))
    return { key, etag: 'e1', size: bytes }
  }
  return { dir, store, whole, put }
}

const files = async (dir: string) => (await readdir(dir)).filter(n => n !== 'tmp').sort()

t.test('a copy holds exactly the object, once every block is on disk', async t => {
  const { dir, store, whole, put } = await setup(t)
  const obj = put('a', 300_001)
  t.notOk(whole.eligible({ key: 's', etag: 'e', size: 99_999 }), 'under the minimum')
  t.notOk(whole.eligible({ key: 'x', etag: 'e', size: 2 << 20 }), 'over the budget')
  store.missing.add('a#2')
  whole.offer(obj)
  await whole.idle()
  t.equal(whole.backingFor(obj), undefined, 'not all on disk: no copy')
  store.missing.clear()
  whole.offer(obj)
  await whole.idle()
  const path = whole.backingFor(obj)
  t.ok(path !== undefined)
  t.same(await readFile(path as string), store.data.get('a'))
  t.equal(whole.stats().made, 1)
  t.same(await readdir(join(dir, 'tmp')), [])
})

t.test('a block gone while the copy is made leaves no copy and no temp file', async t => {
  const { dir, store, whole, put } = await setup(t)
  const obj = put('a', 300_000)
  store.vanish.add('a#3')
  whole.offer(obj)
  await whole.idle()
  t.equal(whole.backingFor(obj), undefined)
  t.same(await files(dir), [])
  t.same(await readdir(join(dir, 'tmp')), [])
})

t.test('the budget keeps the most recently opened copies; the others are removed from disk', async t => {
  const { dir, whole, put } = await setup(t, 700_000)
  const a = put('a', 300_000)
  const b = put('b', 300_000)
  const c = put('c', 300_000)
  whole.offer(a)
  whole.offer(b)
  await whole.idle()
  t.ok(whole.backingFor(a) !== undefined, 'a opened: now the most recent')
  whole.offer(c)
  await whole.idle()
  t.equal(whole.backingFor(b), undefined, 'b, least recently opened, went')
  t.ok(whole.backingFor(a) !== undefined)
  t.ok(whole.backingFor(c) !== undefined)
  await new Promise(r => setTimeout(r, 50))
  t.equal((await files(dir)).length, 2)
  t.ok(whole.stats().bytes <= 700_000)
})

t.test('a copy is not used past the expiry of its blocks, and goes when its object is freed', async t => {
  const { dir, store, whole, put } = await setup(t)
  store.forMs = 80
  const a = put('a', 200_000)
  whole.offer(a)
  await whole.idle()
  t.ok(whole.backingFor(a) !== undefined)
  await new Promise(r => setTimeout(r, 120))
  t.equal(whole.backingFor(a), undefined, 'expired')
  store.forMs = Infinity
  const b = put('b', 200_000)
  whole.offer(b)
  await whole.idle()
  const path = whole.backingFor(b) as string
  whole.drop(path.slice(path.lastIndexOf('/') + 1))
  t.equal(whole.backingFor(b), undefined, 'freed')
  await new Promise(r => setTimeout(r, 50))
  t.same(await files(dir), [])
})

t.test('at a start: copies found are used only while their blocks are on disk; leftovers are removed', async t => {
  const { dir, store, whole, put } = await setup(t)
  const a = put('a', 200_000)
  whole.offer(a)
  await whole.idle()
  await whole.close()
  await writeFile(join(dir, 'tmp', 'half-made.123'), 'x')
  await writeFile(join(dir, 'not-a-copy'), 'x')
  await mkdir(join(dir, 'stray'))
  const again = new WholeObjects({ dir, maxBytes: 1 << 20, minObjectBytes: 100_000 }, source(store), log)
  await again.open()
  t.same(await readdir(join(dir, 'tmp')), [], 'the temp file a crash left is gone')
  t.equal((await files(dir)).length, 1, 'only the copy is left')
  store.missing.add('a#1')
  t.equal(again.backingFor(a), undefined, 'a block evicted: the restored copy is not used')
  store.missing.clear()
  t.same(await readFile(again.backingFor(a) as string), store.data.get('a'))
  t.equal(again.backingFor({ ...a, size: a.size + 1 }), undefined, 'another size is not this copy')
})

t.test('an object freed while its copy is being made gets no copy', async t => {
  const { dir, store, whole, put } = await setup(t)
  const a = put('a', 300_000)
  let release!: () => void
  const gate = new Promise<void>(r => (release = r))
  const src = source(store)
  const slow: WholeObjectSource = {
    ...src,
    readBlockFromDisk: async (obj, index, target) => {
      if (index === 2) await gate
      return src.readBlockFromDisk(obj, index, target)
    },
  }
  const gated = new WholeObjects({ dir: join(dir, '..', 'whole2'), maxBytes: 1 << 20, minObjectBytes: 100_000 }, slow, log)
  await gated.open()
  gated.offer(a)
  await new Promise(r => setTimeout(r, 20))
  gated.drop(src.objectId(a))
  release()
  await gated.idle()
  t.equal(gated.backingFor(a), undefined)
  t.same(await files(join(dir, '..', 'whole2')), [])
  t.equal(gated.stats().made, 0)
  // Offered again later (its blocks cached again), it is made.
  gated.offer(a)
  await gated.idle()
  t.ok(gated.backingFor(a) !== undefined)
  void whole
})

t.test('a copy larger than the budget at a start is removed', async t => {
  const { dir, whole, put } = await setup(t)
  const a = put('a', 300_000)
  whole.offer(a)
  await whole.idle()
  await whole.close()
  const smaller = new WholeObjects(
    { dir, maxBytes: 200_000, minObjectBytes: 100_000 },
    source({ data: new Map(), missing: new Set(), vanish: new Set(), forMs: Infinity }),
    log,
  )
  await smaller.open()
  t.same(await files(dir), [])
  t.equal(smaller.stats().files, 0)
})
