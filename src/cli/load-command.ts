/**
 * `s3cachefs load MOUNT[/sub/path …] [--wait] [--concurrency N]`: asks the daemon
 * to preload files or prefixes into its disk cache. Returns once the daemon has
 * measured the job (so a load larger than the cache is refused here, before any
 * fetch); with --wait, follows it to the end with a progress line on a terminal,
 * or a log line every few seconds otherwise.
 */
import { LOAD_PROGRESS_LOG_MS, LOAD_PROGRESS_TTY_MS } from '../config/defaults.js'
import { formatBytes } from '../config/units.js'
import { ConfigError, LoadFailedError } from '../errors.js'
import type { LoadJobStatus } from '../ops/load-jobs.js'
import { controlRequest } from './control-client.js'
import { resolveMountPaths } from './mount-paths.js'
import { formatProgress, formatSeconds } from './progress.js'

const POLL_MS = 200 // while the daemon lists: answers within a fraction of a second on small trees

export async function loadCommand(args: string[], opts: { wait?: boolean; concurrency?: string; shared?: boolean; shard?: string }): Promise<number> {
  const { mountPoint, paths } = await resolveMountPaths(args)
  let concurrency: number | undefined
  if (opts.concurrency !== undefined) {
    concurrency = Number(opts.concurrency)
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024)
      throw new ConfigError(`--concurrency: must be a whole number from 1 to 1024 (got '${opts.concurrency}')`)
  }
  const shared = parseShard(opts)
  let job = (await controlRequest(mountPoint, 'load', {
    paths,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(shared !== undefined ? { shared } : {}),
  })) as LoadJobStatus
  while (job.state === 'listing') {
    await sleep(POLL_MS)
    job = await jobStatus(mountPoint, job.id)
  }
  if (job.state === 'failed') throw new LoadFailedError(`load: ${job.error ?? 'failed'}`)
  if (opts.wait !== true) {
    process.stdout.write(
      `loading ${job.files} files (${formatBytes(job.bytes)}) into the ${shared !== undefined ? 'shared tier' : 'cache'} of ${mountPoint} in the background; ` +
        `'s3cachefs stats ${mountPoint}' shows progress\n`,
    )
    return 0
  }
  job = await follow(mountPoint, job)
  const rate = job.elapsedMs > 0 ? job.bytesDone / (job.elapsedMs / 1000) / 1e6 : 0
  if (job.state === 'failed' || job.failedFiles > 0) {
    throw new LoadFailedError(`load: ${job.failedFiles} of ${job.files} files failed (${job.error ?? 'see the daemon log'})`)
  }
  process.stdout.write(`loaded ${job.files} files (${formatBytes(job.bytes)}) in ${formatSeconds(job.elapsedMs / 1000)}, ${rate.toFixed(1)} MB/s\n`)
  return 0
}

/** Polls the job until it ends, drawing progress on stderr. */
async function follow(mountPoint: string, first: LoadJobStatus): Promise<LoadJobStatus> {
  const tty = process.stderr.isTTY === true
  let job = first
  let lastLog = Date.now()
  while (job.state === 'loading') {
    if (tty) process.stderr.write(`\r\x1b[2Kloading ${formatProgress(job)}`)
    else if (Date.now() - lastLog >= LOAD_PROGRESS_LOG_MS) {
      process.stderr.write(`s3cachefs: load ${formatProgress(job)}\n`)
      lastLog = Date.now()
    }
    await sleep(tty ? LOAD_PROGRESS_TTY_MS : Math.min(1000, LOAD_PROGRESS_LOG_MS))
    job = await jobStatus(mountPoint, job.id)
  }
  if (tty) process.stderr.write('\r\x1b[2K')
  return job
}

async function jobStatus(mountPoint: string, id: number): Promise<LoadJobStatus> {
  const { jobs } = (await controlRequest(mountPoint, 'loads')) as { jobs: LoadJobStatus[] }
  const job = jobs.find(j => j.id === id)
  if (job === undefined) throw new LoadFailedError(`load: the daemon of ${mountPoint} no longer knows job ${id} (did it restart?)`)
  return job
}

/** `--shared [--shard I/N]` (I from 1) → the 0-based shard sent to the daemon. */
function parseShard(opts: { shared?: boolean; shard?: string }): { index: number; count: number } | undefined {
  if (opts.shared !== true) {
    if (opts.shard !== undefined) throw new ConfigError('--shard: needs --shared')
    return undefined
  }
  if (opts.shard === undefined) return { index: 0, count: 1 }
  const m = /^(\d+)\/(\d+)$/.exec(opts.shard)
  const i = Number(m?.[1])
  const n = Number(m?.[2])
  if (m === null || n < 1 || i < 1 || i > n) throw new ConfigError(`--shard: must be I/N with 1 ≤ I ≤ N (got '${opts.shard}')`)
  return { index: i - 1, count: n }
}

function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms))
}
