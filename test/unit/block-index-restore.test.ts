/**
 * Blocks found at start (snapshot or scan) join the BlockIndex through `restore`: they
 * count in usedBytes at once, wait outside the policy (so the blocks stored since start
 * are the only ones evicted until the index is ready), and `finishRestore` ranks them
 * oldest stored first, below every block stored or read since start; a pin that the
 * catalog brings takes them out; a read ranks one with the new blocks.
 */
import t from 'tap'
import { BlockIndex } from '../../src/cache/block-index.js'
import { EVICTION_POLICIES } from '../../src/cache/eviction/eviction-policy.js'

const id = (n: number): string => n.toString(16).padStart(8, '0').padEnd(40, 'a')

function drain(ix: BlockIndex): string[] {
  ix.setMaxBytes(0)
  const out: string[] = []
  for (let v = ix.victim(); v !== undefined; v = ix.victim()) out.push(`${v.objectId.slice(0, 8)}.${v.index}`)
  return out
}

for (const policy of EVICTION_POLICIES) {
  t.test(`${policy}: restored blocks rank oldest first, below the blocks stored since start`, async t => {
    const ix = new BlockIndex(policy, 1000, () => false)
    ix.add(id(9), 0, 10, 500) // stored while the index was being rebuilt
    ix.restore(id(3), 0, 10, 30)
    ix.restore(id(1), 0, 10, 10)
    ix.restore(id(2), 1, 10, 20)
    ix.restore(id(9), 0, 99, 1) // older than the copy stored since start: ignored
    t.equal(ix.usedBytes, 40)
    t.equal(ix.blocks, 4)
    ix.setMaxBytes(15)
    t.notOk(ix.overBound, 'restored blocks wait: only the block stored since start competes')
    ix.setMaxBytes(1000)
    ix.finishRestore()
    t.same(drain(ix), ['00000001.0', '00000002.1', '00000003.0', '00000009.0'])
    t.equal(ix.usedBytes, 0)
  })

  t.test(`${policy}: a pin from the catalog takes restored blocks out; a read ranks one as new`, async t => {
    const ix = new BlockIndex(policy, 1000, e => e.key.startsWith('pinned/'))
    ix.restore(id(1), 0, 10, 10)
    ix.restore(id(1), 1, 10, 11)
    ix.restore(id(2), 0, 10, 12)
    ix.restore(id(3), 0, 10, 13)
    ix.attach(id(1), { ns: 'n', key: 'pinned/a' })
    t.equal(ix.pinnedBytes, 20)
    t.equal(ix.pinnedBlocks, 2)
    ix.touch(ix.get(id(2), 0) as number)
    ix.finishRestore()
    t.same(drain(ix), ['00000003.0', '00000002.0'], 'the pinned object stays; the block read since start goes last')
    t.equal(ix.usedBytes, 20)
    t.equal(ix.blocks, 2)
  })
}

t.test('a block removed while restoring leaves no trace; its slot may be reused', async t => {
  const ix = new BlockIndex('lru', 1000, () => false)
  ix.restore(id(1), 0, 10, 10)
  ix.remove(ix.get(id(1), 0) as number)
  ix.restore(id(2), 0, 10, 5) // takes the freed slot
  ix.finishRestore()
  t.same(drain(ix), ['00000002.0'])
  t.equal(ix.objectCount, 0)
})

t.test('restored blocks stored years apart still rank oldest first (times coarsened to fit the sort key)', async t => {
  const ix = new BlockIndex('lru', 1000, () => false)
  ix.restore(id(1), 0, 1, 8e15)
  ix.restore(id(2), 0, 1, 0)
  ix.restore(id(3), 0, 1, 4e15)
  ix.restore(id(4), 0, 1, 4e15 + 1e9)
  ix.finishRestore()
  t.same(drain(ix), ['00000002.0', '00000003.0', '00000004.0', '00000001.0'])
})
