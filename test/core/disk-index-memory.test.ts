/**
 * Memory of the disk cache's index per block, measured by counting: a BlockIndex is
 * filled with 200,000 one-block objects as a cache of small files holds them (each with
 * its catalog key), and the growth of heap +
 * external memory (the typed arrays) after a full GC is divided by the blocks. The
 * index used to keep a JS object per block and per object (724 B per block at this
 * size, docs/ARCHITECTURE.md); the bound below fails on that layout.
 * `S3CACHEFS_MEMORY_BLOCKS=1281167` runs the same count at ImageNet's size.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { BlockIndex } from '../../src/cache/block-index.js'
import { objectIdOf } from '../../src/cache/disk-block-cache.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const BLOCKS = Number(process.env.S3CACHEFS_MEMORY_BLOCKS ?? 200_000)
/** The bound asserted, in bytes of heap + external memory per cached block (of a one-block object). */
const MAX_BYTES_PER_BLOCK = 200

function heapAfterGc(): number {
  for (let k = 0; k < 3; k++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

/** An ImageNet-like key of about 40 characters. */
function keyOf(i: number): string {
  return `train/n${String(i % 1000).padStart(8, '0')}/n${String(i % 1000).padStart(8, '0')}_${i}.JPEG`
}

for (const policy of ['scan-resistant', 'lru'] as const) {
  t.test(`${policy}: bytes of heap per indexed block, ${BLOCKS.toLocaleString('en')} blocks`, async t => {
    const before = heapAfterGc()
    const ix = new BlockIndex(policy, 2 ** 50, () => false)
    for (let i = 0; i < BLOCKS; i++) {
      const id = objectIdOf('ns', keyOf(i), `"etag-${i}"`, 1 << 20)
      ix.add(id, 0, 1000 + (i % 3000), 1_700_000_000_000 + i, false, { ns: 'ns', key: keyOf(i) })
    }
    t.equal(ix.blocks, BLOCKS)
    const bytes = heapAfterGc() - before
    const perBlock = bytes / BLOCKS
    t.comment(`${BLOCKS} blocks: heap + external ${(bytes / 2 ** 20).toFixed(1)} MiB, ${perBlock.toFixed(0)} B per block`)
    t.ok(perBlock <= MAX_BYTES_PER_BLOCK, `${perBlock.toFixed(0)} B per indexed block ≤ ${MAX_BYTES_PER_BLOCK}`)
    t.ok(ix.get(objectIdOf('ns', keyOf(BLOCKS - 1), `"etag-${BLOCKS - 1}"`, 1 << 20), 0) !== undefined, 'the last block is indexed')
  })
}
