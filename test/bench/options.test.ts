// Flags of `npm run bench`: defaults for full and quick runs, and one-line
// errors that name the flag for bad values.
import t from 'tap'
import { OptionsError, parseOptions } from '../../tools/bench/options.js'

t.test('defaults and --quick', async (t) => {
  const full = parseOptions([])
  t.equal(full.files, 20_000)
  t.equal(full.shardBytes, 1 << 30)
  t.equal(full.metadataObjects, 100_000)
  t.same([full.workers, full.batch, full.epochs, full.stepSeconds, full.ttfbMs, full.megabytesPerSecond], [8, 256, 3, 0, 20, 80])
  t.same(full.systems, ['s3cachefs', 's3cachefs-pt', 's3fs', 'rclone', 'local', 'passthrough', 'direct'])
  t.equal(full.checkpointBytes, 1 << 30)
  t.equal(full.smallFiles, 1000)
  const quick = parseOptions(['--quick', '--files', '300', '--step', '0.5', '--systems', 's3fs,local', '--skip', 'shard,metadata'])
  t.equal(quick.quick, true)
  t.equal(quick.files, 300)
  t.equal(quick.shardBytes, 256 << 20)
  t.equal(quick.stepSeconds, 0.5)
  t.same(quick.systems, ['s3fs', 'local'])
  t.same(quick.skip, ['shard', 'metadata'])
  t.equal(quick.checkpointBytes, 256 << 20)
  t.equal(quick.smallFiles, 300)
  const writes = parseOptions(['--quick', '--checkpoint-mib', '64', '--small-files', '50', '--skip', 'loader,metadata,shard,torch,calibration'])
  t.equal(writes.checkpointBytes, 64 * 1048576)
  t.equal(writes.smallFiles, 50)
  t.same(writes.skip, ['loader', 'metadata', 'shard', 'torch', 'calibration'], 'writes runs when the others are skipped')
  t.same(parseOptions(['--skip', 'writes']).skip, ['writes'])
  // A value that starts with '-' must be attached with '=' (node:util parseArgs rule).
  t.same(parseOptions(['--s3cachefs-args=--metadata-ttl 10m']).s3cachefsArgs, ['--metadata-ttl', '10m'])
})

t.test('bad flags give one-line errors naming the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--workers', 'x'], /^--workers must be an integer from 1 to 256 \(got 'x'\)$/],
    [['--workers', '0'], /--workers/],
    [['--step=-1'], /--step must be a number/],
    [['--s3cachefs-args', '--x'], /ambiguous/],
    [['--files', '2000000'], /--files must be an integer from 1 to 1281167/],
    [['--systems', 's3fs,gcsfuse'], /^--systems: unknown 'gcsfuse' \(choose from s3cachefs, s3cachefs-pt, s3fs, rclone, local, passthrough, direct\)$/],
    [['--skip', 'everything'], /^--skip: unknown 'everything'/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['positional'], /positional/i],
    [['--mbps', ''], /--mbps/],
    [['--checkpoint-mib', '0'], /^--checkpoint-mib must be an integer from 1 to 1048576 \(got '0'\)$/],
    [['--checkpoint-mib', '1.5'], /^--checkpoint-mib must be an integer/],
    [['--small-files', 'many'], /^--small-files must be an integer from 1 to 1000000 \(got 'many'\)$/],
    [['--skip', 'write'], /^--skip: unknown 'write' \(choose from loader, shard, metadata, writes, torch, nodes, prefetch, calibration\)$/],
  ]
  for (const [argv, pattern] of cases) {
    let caught: unknown
    try {
      parseOptions(argv)
    } catch (err) {
      caught = err
    }
    t.ok(caught instanceof OptionsError, `${argv.join(' ')} is rejected`)
    t.match((caught as Error).message, pattern, argv.join(' '))
    t.notMatch((caught as Error).message, /\n/, 'one line')
  }
})

t.test('--store: s3rver by default; synthetic skips what it cannot serve', async (t) => {
  t.equal(parseOptions([]).store, 's3rver')
  const synth = parseOptions(['--store', 'synthetic', '--skip', 'torch,shard'])
  t.equal(synth.store, 'synthetic')
  t.same([...synth.skip].sort(), ['metadata', 'nodes', 'shard', 'torch', 'writes'])
  t.throws(() => parseOptions(['--store', 'minio']), new OptionsError("--store: unknown 'minio' (choose from s3rver, synthetic)"))
  t.throws(() => parseOptions(['--store', 's3rver,synthetic']), { message: /^--store: name one of s3rver, synthetic$/ })
  t.same(parseOptions(['--skip', 'prefetch']).skip, ['prefetch'])
})
