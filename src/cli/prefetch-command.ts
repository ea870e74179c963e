/**
 * `s3cachefs prefetch PATH… [--list FILE|-] [--window-files N] [--window-bytes SIZE]`:
 * announces to a mount the files about to be read, in order (a shuffled epoch, a DALI
 * file list, a manifest); the daemon keeps a window ahead of the reader. Returns once
 * the daemon has the list. Sent in chunks, so a 1.28 M-file epoch never makes one
 * huge request.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { formatBytes, parseBytes } from '../config/units.js'
import { ConfigError } from '../errors.js'
import { controlRequest } from './control-client.js'
import { resolveMountPaths } from './mount-paths.js'

/** Paths per control request: well under the control socket's 1 MiB body limit. */
const CHUNK_PATHS = 4000

export interface PrefetchOptions {
  list?: string
  windowFiles?: string
  windowBytes?: string
}

export async function prefetchCommand(args: string[], opts: PrefetchOptions): Promise<number> {
  const listed = [...args]
  if (opts.list !== undefined) {
    const input = opts.list === '-' ? process.stdin : createReadStream(opts.list)
    // Only line endings are stripped: a name may begin or end with spaces.
    for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line !== '') listed.push(line)
  }
  if (listed.length === 0) throw new ConfigError('prefetch: give paths, or --list FILE (- for standard input)')
  const windowFiles = opts.windowFiles === undefined ? undefined : Number(opts.windowFiles)
  if (windowFiles !== undefined && (!Number.isInteger(windowFiles) || windowFiles < 1))
    throw new ConfigError(`--window-files: a whole number from 1 (got '${opts.windowFiles}')`)
  const windowBytes = opts.windowBytes === undefined ? undefined : parseBytes(opts.windowBytes, '--window-bytes')
  const { mountPoint, paths } = await resolveMountPaths(listed)
  let held = 0
  for (let i = 0; i < paths.length; i += CHUNK_PATHS) {
    const r = (await controlRequest(mountPoint, 'prefetch', {
      // One order per announcing process (a training rank): its parent, when run by a sampler.
      session: String(process.ppid),
      paths: paths.slice(i, i + CHUNK_PATHS),
      append: i > 0,
      ...(windowFiles !== undefined ? { windowFiles } : {}),
      ...(windowBytes !== undefined ? { windowBytes } : {}),
    })) as { files: number; windowFiles: number; windowBytes: number }
    held = r.files
    if (i === 0) process.stdout.write(`announced to ${mountPoint}: window of ${r.windowFiles} files, ${formatBytes(r.windowBytes)} ahead of the reader\n`)
  }
  process.stdout.write(`${held} files in order\n`)
  return 0
}
