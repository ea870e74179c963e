/**
 * Measures the disk cache's index at scale, in one process (no mount, no S3): writes N
 * one-block objects of 1–4 KB through DiskBlockCache (with their catalog keys, as reads
 * store them), closes it (the index snapshot is written), and opens it again twice:
 * from the snapshot, and after removing the snapshot (as after a crash: the directory
 * scan). Reports for each: time from open to index-ready, heap + external bytes per
 * block after a full GC, RSS growth per block, and the peak RSS.
 *
 *   node --expose-gc tools/dist/tools/bench/index-startup-main.js <blocks> [dir]
 *
 * Each step runs in a child process of its own, so one step's garbage does not blur the
 * next one's memory. The directory is created (a temporary one by default) and removed
 * at the end unless given. Not part of `npm run bench`: writing a million files loads the machine.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { DiskBlockCache, objectIdOf } from '../../src/cache/disk-block-cache.js'
import { blockAddress } from '../../src/cache/disk/disk-cache-types.js'

const BLOCK_SIZE = 1 << 20
const WRITES_IN_FLIGHT = 64
const log = pino({ level: 'warn' })
const gc = (globalThis as { gc?: () => void }).gc

function heapAfterGc(): number {
  if (gc === undefined) throw new Error('run with node --expose-gc')
  for (let k = 0; k < 3; k++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

function keyOf(i: number): string {
  const dir = String(Math.floor(i / 1300)).padStart(5, '0')
  return `train/n${dir}/img_${String(i).padStart(8, '0')}.JPEG`
}

function open(dir: string): Promise<DiskBlockCache> {
  return DiskBlockCache.open({ dir, maxBytes: 2 ** 50, maxPendingWrites: WRITES_IN_FLIGHT, namespace: 'bench' }, log)
}

async function fill(dir: string, blocks: number): Promise<void> {
  const cache = await open(dir)
  const started = Date.now()
  const data = Buffer.alloc(4096, 7)
  let next = 0
  const writer = async (): Promise<void> => {
    for (let i = next++; i < blocks; i = next++) {
      const key = keyOf(i)
      const stored = await cache.persist(blockAddress(objectIdOf('bench', key, `"${i}"`, BLOCK_SIZE), 0, key), data.subarray(0, 1024 + (i % 3072)))
      if (!stored) throw new Error(`block ${i} not stored`)
      if (i % 100_000 === 0) process.stderr.write(`written ${i} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
    }
  }
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, writer))
  await cache.close()
  process.stderr.write(`written ${blocks} blocks in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}

async function reopen(dir: string, blocks: number, label: string): Promise<Record<string, number | string>> {
  const heapBefore = heapAfterGc()
  const rssBefore = process.memoryUsage().rss
  let peakRss = rssBefore
  const started = Date.now()
  const cache = await open(dir)
  while (!cache.stats().indexReady) {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    await sleep(20)
  }
  const readyMs = Date.now() - started
  const heap = heapAfterGc() - heapBefore
  const rss = process.memoryUsage().rss - rssBefore
  const indexed = cache.stats().blocks
  await cache.close()
  return { from: label, blocks: indexed, readyMs, heapBytesPerBlock: Math.round(heap / blocks), rssGrowthPerBlock: Math.round(rss / blocks), peakRssMiB: Math.round(peakRss / 2 ** 20) }
}

/** Runs one step in a child process and returns what it printed. */
function step(...args: string[]): string {
  return execFileSync(process.execPath, ['--expose-gc', process.argv[1] as string, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })
}

async function main(): Promise<void> {
  const [mode, n, given] = process.argv[2] === 'fill' || process.argv[2] === 'open' ? process.argv.slice(2) : ['all', ...process.argv.slice(2)]
  const blocks = Number(n ?? 200_000)
  if (mode === 'fill') return fill(given as string, blocks)
  if (mode === 'open') return void console.log(JSON.stringify(await reopen(given as string, blocks, process.argv[5] ?? '')))
  const dir = given ?? (await mkdtemp(join(tmpdir(), 's3cachefs-index-')))
  try {
    step('fill', String(blocks), dir)
    const results = [JSON.parse(step('open', String(blocks), dir, 'snapshot')) as unknown]
    await rm(join(dir, 'index.snapshot'), { force: true }) // as after a crash
    results.push(JSON.parse(step('open', String(blocks), dir, 'scan')) as unknown)
    console.log(JSON.stringify({ blocks, results }, null, 1))
  } finally {
    if (given === undefined) await rm(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
