/**
 * Memory per metadata entry, measured by counting: the metadata cache is filled with
 * 200,000 files (154 directories of 1,300, as ImageNet's classes; listed as `find` does,
 * so every file is in the stat cache and in its directory's listing) over the synthetic
 * store's in-process client, and the growth of heap + external memory (typed arrays) after
 * a full GC is divided by the entries.
 * `S3CACHEFS_MEMORY_ENTRIES=1281167` runs the same measurement at ImageNet's size
 * (docs/ARCHITECTURE.md states the result).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { pino } from 'pino'
import t from 'tap'
import { SyntheticNamespace } from '../../tools/local-s3/synthetic-namespace.js'
import { SyntheticObjectClient } from '../../tools/local-s3/synthetic-object-client.js'
import { MetadataStore } from '../../src/metadata/metadata-store.js'
import { MAX_LISTED_CHILDREN, MAX_METADATA_ENTRIES } from '../../src/config/defaults.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const ENTRIES = Number(process.env.S3CACHEFS_MEMORY_ENTRIES ?? 200_000)
/** The bound asserted, in bytes of heap + external memory per cached file (its listing child). */
const MAX_BYTES_PER_ENTRY = 120

/** Heap plus memory outside it (the typed arrays packed listings keep), after a full GC. */
function heapAfterGc(): number {
  for (let k = 0; k < 3; k++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

t.test(`bytes of heap per cached file, ${ENTRIES.toLocaleString('en')} files`, async t => {
  const ns = new SyntheticNamespace({ objects: ENTRIES, perDirectory: 1300, minBytes: 20_000, maxBytes: 200_000 })
  const client = new SyntheticObjectClient(ns)
  const log = pino({ level: 'silent' })
  const before = heapAfterGc()
  const rssBefore = process.memoryUsage().rss
  const md = new MetadataStore(
    { ttlMs: Infinity, negativeTtlMs: 5000, maxEntries: MAX_METADATA_ENTRIES, maxListedChildren: MAX_LISTED_CHILDREN },
    client,
    Date.now,
    log,
  )
  const started = Date.now()
  const dirs = [...(await md.readdir('/train')).children.keys()]
  let files = 0
  for (let k = 0; k < dirs.length; k += 8) {
    const sizes = await Promise.all(dirs.slice(k, k + 8).map(async d => (await md.readdir(`/train/${d}`)).children.size))
    files += sizes.reduce((a, b) => a + b, 0)
  }
  t.equal(files, ENTRIES)
  t.equal((await md.lookup(`/${ns.key(ENTRIES - 1)}`)).kind, 'file', 'the last file is still cached')
  const bytes = heapAfterGc() - before
  const perEntry = bytes / ENTRIES
  const rssPerEntry = (process.memoryUsage().rss - rssBefore) / ENTRIES
  t.comment(
    `${ENTRIES} files listed in ${Date.now() - started} ms: heap + external ${(bytes / 2 ** 20).toFixed(1)} MiB, ${perEntry.toFixed(0)} B per file (RSS growth ${rssPerEntry.toFixed(0)} B per file)`,
  )
  t.ok(perEntry <= MAX_BYTES_PER_ENTRY, `${perEntry.toFixed(0)} B per cached file ≤ ${MAX_BYTES_PER_ENTRY}`)
  t.ok(md !== undefined) // keeps the store alive through the measurement
})
