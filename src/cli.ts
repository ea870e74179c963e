#!/usr/bin/env node
/**
 * The s3cachefs command line: parses flags with commander and hands each command
 * to its module in src/cli/. Errors end as one line on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { mountCommand } from './cli/mount-command.js'
import { statsCommand } from './cli/stats-command.js'
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

const program = new Command()
program.name('s3cachefs').description('Mount an S3 bucket as a local directory, with a disk block cache').version(pkg.version)

program.command('mount')
  .description('mount s3://BUCKET[/PREFIX] on MOUNTPOINT; returns once the mount is live')
  .argument('<source>', 's3://BUCKET[/PREFIX]')
  .argument('<mountpoint>', 'an existing empty directory')
  .option('--cache-dir <dir>', 'local directory for cached blocks (default: one per source under /var/cache/s3cachefs or ~/.cache/s3cachefs)')
  .option('--cache-size <size>', 'bound of the disk cache, e.g. 200GiB', D.DEFAULT_CACHE_SIZE)
  .option('--endpoint-url <url>', 'S3-compatible endpoint, e.g. http://127.0.0.1:9000 (implies path-style)')
  .option('--region <region>', 'AWS region (default: from the AWS environment/config)')
  .option('--profile <name>', 'AWS shared-config profile')
  .option('--path-style', 'force path-style bucket addressing')
  .option('--read-only', 'refuse every write')
  .option('--foreground', 'stay attached; unmount on SIGINT/SIGTERM')
  .option('--metadata-ttl <duration>', "how long metadata is trusted, or 'indefinite'", D.METADATA_TTL)
  .option('--negative-ttl <duration>', "how long 'no such file' is trusted", D.NEGATIVE_TTL)
  .option('--max-concurrency <n>', 'concurrent S3 requests', String(D.MAX_CONCURRENCY))
  .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent').default(D.DEFAULT_LOG_LEVEL))
  .option('--log-file <file>', 'daemon log (default: s3cachefs.log in the cache directory)')
  .option('--allow-other', 'let other users access the mount (needs user_allow_other in /etc/fuse.conf unless root)')
  .addOption(new Option('--debug-fuse', 'log every FUSE request (libfuse debug)').hideHelp())
  .action(action(mountCommand))

program.command('unmount')
  .alias('umount')
  .description('unmount MOUNTPOINT and stop its daemon')
  .argument('<mountpoint>')
  .option('--force', 'kill a daemon that does not stop and unmount lazily')
  .action(action(unmountCommand))

program.command('stats')
  .description('cache hit ratio, S3 requests and cache usage of a mount')
  .argument('<mountpoint>')
  .option('--json', 'stable JSON output (see docs/CLI.md)')
  .action(action(statsCommand))

await program.parseAsync(process.argv)
