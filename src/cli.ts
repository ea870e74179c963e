#!/usr/bin/env node
/**
 * The s3cachefs command line: parses flags with commander and hands each command
 * to its module in src/cli/. Errors end as one line on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { type PrefetchOptions, prefetchCommand } from './cli/prefetch-command.js'
import { flushCommand } from './cli/flush-command.js'
import { statsCommand } from './cli/stats-command.js'
import { freeCommand, pinCommand, refreshCommand, ttlCommand, unpinCommand } from './cli/cache-commands.js'
import { loadCommand } from './cli/load-command.js'
import { EVICTION_POLICIES } from './cache/eviction/eviction-policy.js'
import { unmountCommand } from './cli/unmount-command.js'
import { ConfigError, MountPointError, S3CacheFsError, messageOf } from './errors.js'
import * as D from './config/defaults.js'
import { quietWarnings } from './util/quiet-warnings.js'

quietWarnings('s3cachefs')

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

function action<A extends unknown[]>(run: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await run(...args)
    } catch (err) {
      process.stderr.write(`s3cachefs: ${messageOf(err)}\n`)
      if (!(err instanceof S3CacheFsError)) process.stderr.write('s3cachefs: (unexpected error; run with --log-level debug for details)\n')
      process.exitCode = err instanceof ConfigError || err instanceof MountPointError ? 2 : 1
    }
  }
}

/**
 * The mount command (and the daemon behind it: the AWS SDK, the caches) is loaded only
 * when it runs: every other command (stats, prefetch, flush, …) starts ~0.3 s sooner,
 * which a sampler announcing each epoch's order pays every epoch.
 */
async function mountCommand(...args: Parameters<(typeof import('./cli/mount-command.js'))['mountCommand']>): Promise<number> {
  return (await import('./cli/mount-command.js')).mountCommand(...args)
}

const program = new Command()
program.name('s3cachefs').description('Mount an S3 bucket as a local directory, with a disk block cache').version(pkg.version)
// Usage errors (unknown flag, missing argument) exit 2, as documented; help and version exit 0.
program.exitOverride(err => process.exit(err.exitCode === 0 ? 0 : 2))

program
  .command('mount')
  .description('mount s3://BUCKET[/PREFIX] on MOUNTPOINT; returns once the mount is live')
  .argument('<source>', 's3://BUCKET[/PREFIX]')
  .argument('<mountpoint>', 'an existing empty directory')
  .option('--cache-dir <dir>', 'local directory for cached blocks (default: one per source under /var/cache/s3cachefs or ~/.cache/s3cachefs)')
  .option('--cache-size <size>', 'bound of the disk cache, e.g. 200GiB', D.DEFAULT_CACHE_SIZE)
  .option('--staging-size <size>', 'bound of written data staged on local disk until uploaded (writes wait for uploads, then ENOSPC)', D.STAGING_SIZE)
  .option('--endpoint-url <url>', 'S3-compatible endpoint, e.g. http://127.0.0.1:9000 (implies path-style)')
  .option('--region <region>', 'AWS region (default: from the AWS environment/config)')
  .option('--profile <name>', 'AWS shared-config profile')
  .option('--path-style', 'force path-style bucket addressing')
  .option(
    '--sdk-gets',
    "send every GET through the AWS SDK's full request stack instead of the lean signed GET (slower; for stores the lean GET does not suit)",
  )
  .option('--read-only', 'refuse every write')
  .option('--foreground', 'stay attached; unmount on SIGINT/SIGTERM')
  .option('--metadata-ttl <duration>', "how long metadata is trusted, or 'indefinite'", D.METADATA_TTL)
  .option('--no-persist-listings', 'do not keep directory listings on disk for the next mount (by default a remount within --metadata-ttl lists nothing again)')
  .option('--negative-ttl <duration>', "how long 'no such file' is trusted", D.NEGATIVE_TTL)
  .option('--stale-if-error <duration>', "while the store fails, serve cached metadata and data this long past their TTL ('0' off)", D.STALE_IF_ERROR)
  .option('--max-concurrency <n>', 'concurrent S3 requests', String(D.MAX_CONCURRENCY))
  .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent').default(D.DEFAULT_LOG_LEVEL))
  .option('--log-file <file>', 'daemon log (default: s3cachefs.log in the cache directory)')
  .addOption(
    new Option('--write-mode <mode>', 'sync: close returns once data is in the bucket; async: upload in the background')
      .choices(['sync', 'async'])
      .default(D.WRITE_MODE),
  )
  .option('--cache-ttl <duration>', "drop cached data this long after it was fetched, or 'never'", D.CACHE_TTL)
  .option('--eviction <policy>', `which cached blocks go when the cache is full: ${EVICTION_POLICIES.join(' or ')} (see docs/SEMANTICS.md)`, D.DEFAULT_EVICTION)
  .option('--metadata-sync-interval <duration>', "re-list cached directories this often to see out-of-band changes, or 'never'", D.METADATA_SYNC_INTERVAL)
  .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:PORT/metrics (0: any free port, see stats)')
  .option(
    '--memory-cache-size <size>',
    "verified blocks kept in memory in front of the disk cache (sequential readers' read-ahead windows add up to 128MiB while open)",
    D.MEMORY_CACHE_SIZE,
  )
  .option(
    '--prefetch-after <n>',
    "distinct files opened under one directory that start prefetching the rest of its tree; 'off' never",
    String(D.SCAN_PREFETCH_DISTINCT_OPENS),
  )
  .addOption(
    new Option(
      '--posix-metadata <mode>',
      "listing: attributes from listings and writes, no HEAD per file; head: read s3fs headers with one HEAD on a file's first stat",
    )
      .choices(['listing', 'head'])
      .default(D.POSIX_METADATA),
  )
  .option('--allow-other', 'let other users access the mount, with the kernel checking file modes (needs user_allow_other in /etc/fuse.conf unless root)')
  .option('--no-default-permissions', 'with --allow-other: the kernel checks no modes; the daemon checks them itself, as s3fs-fuse does')
  .option('--xattr', "extended attributes (setfattr, getfattr), kept as s3fs-fuse's use_xattr keeps them; each file's first getxattr costs a HEAD")
  .option(
    '--kernel-read-ahead <size>',
    "the kernel's read-ahead window for the mount, which also sizes its read requests (root only; '0' leaves the kernel's)",
    D.KERNEL_READ_AHEAD,
  )
  .option(
    '--fuse-max-background <n>',
    "the kernel's bound on the mount's background requests (read-ahead, releases), congested at three quarters of it; '0' leaves the kernel's 12",
    String(D.FUSE_MAX_BACKGROUND),
  )
  .option(
    '--passthrough <size>',
    "keep up to SIZE of whole-object copies of large cached files, which the kernel reads itself (Linux >= 6.9, root; see docs/SEMANTICS.md); '0' off",
  )
  .option('--no-direct-reads', 'answer every read on the event loop (by default the FUSE threads read small cached files themselves)')
  .option('--shared-cache <s3url>', 's3://BUCKET[/PREFIX]: a second cache tier shared by every node mounting this source (see README, Many nodes)')
  .option('--shared-cache-endpoint-url <url>', "the shared tier's S3-compatible endpoint (default: the source's)")
  .option('--shared-cache-max-object-size <size>', `objects larger than this bypass the shared tier (default: ${D.SHARED_CACHE_MAX_OBJECT_SIZE})`)
  .option('--coordinator <url>', 'redis://HOST:PORT (or redis-cluster://HOST:PORT,…): one origin fetch per block across nodes, shared listings')
  .addOption(new Option('--debug-fuse', 'log every FUSE request (libfuse debug)').hideHelp())
  .action(action(mountCommand))

program
  .command('unmount')
  .alias('umount')
  .description('unmount MOUNTPOINT and stop its daemon')
  .argument('<mountpoint>')
  .option('--force', 'kill a daemon that does not stop and unmount lazily')
  .action(action(unmountCommand))

program
  .command('flush')
  .description('upload everything written under PATH (default: the whole mount) and wait until it is in the bucket')
  .argument('<mountpoint>')
  .argument('[path]', 'a file or directory inside the mount')
  .option('--quiet', 'print nothing on success')
  .action(action(flushCommand))

program
  .command('stats')
  .description('cache hit ratio, S3 requests and cache usage of a mount')
  .argument('<mountpoint>')
  .option('--json', 'stable JSON output (see docs/CLI.md)')
  .option('--watch', 'redraw every second until interrupted')
  .action(action(statsCommand))

program
  .command('load')
  .description('preload files or directories into the disk cache (MOUNT loads everything)')
  .argument('<paths...>', 'the mount point, or files and directories inside one mount')
  .option('--wait', 'wait until loaded, showing progress')
  .option('--concurrency <n>', `files loaded at once (default ${D.LOAD_CONCURRENCY})`)
  .option('--shared', "warm the mount's shared tier (--shared-cache) instead of its disk cache")
  .option('--shard <I/N>', 'with --shared: load only the files of share I of N (by a hash of the key), for node I of N')
  .action(action(loadCommand))

program
  .command('pin')
  .description('never evict cached data under these paths (survives remounts); load them with s3cachefs load')
  .argument('<paths...>', 'files or directories inside one mount')
  .action(action(pinCommand))

program
  .command('unpin')
  .description('let cached data under these paths be evicted again')
  .argument('<paths...>', 'files or directories inside one mount')
  .action(action(unpinCommand))

program
  .command('free')
  .description('drop cached data under these paths and report the bytes freed')
  .argument('<paths...>', 'files or directories inside one mount')
  .option('--force', 'drop pinned data too (the pins stay)')
  .action(action(freeCommand))

program
  .command('ttl')
  .description("drop cached data under PATH this long after it was fetched ('never' to keep it)")
  .argument('<path>', 'a file or directory inside a mount')
  .argument('<duration>', '30m, 12h, 7d, never')
  .action(action(ttlCommand))

program
  .command('prefetch')
  .description('announce the files about to be read, in order: the daemon keeps a window ahead of the reader')
  .argument('[paths...]', 'files inside one mount, in the order they will be read')
  .option('--list <file>', "read the paths from FILE, one per line ('-': standard input)")
  .option('--window-files <n>', `files kept ready ahead of the reader (default ${D.ANNOUNCED_WINDOW_FILES})`)
  .option('--window-bytes <size>', `bytes kept ready ahead of the reader (default ${D.ANNOUNCED_WINDOW_BYTES / D.MiB}MiB)`)
  .action(action((paths: string[], opts: PrefetchOptions) => prefetchCommand(paths, opts)))

program
  .command('refresh')
  .description('list PATH again now, to see objects added, changed or deleted in the bucket')
  .argument('<path>', 'a file or directory inside a mount (the mount point: everything)')
  .action(action(refreshCommand))

await program.parseAsync(process.argv)
