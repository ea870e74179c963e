// `npm run bench -- --scale`: its flags (defaults, N chosen smaller, one-line errors naming
// the flag) and its report (time per 100,000 files, bytes per file, phases that did not
// finish within the limit stated as such).
import t from 'tap'
import { OptionsError } from '../../tools/bench/options.js'
import { parseScaleOptions, SCALE_DEFAULT_OBJECTS } from '../../tools/bench/scale/scale-options.js'
import { bytesPerFile, perHundredThousand, phaseCell, renderScaleReport, type ScaleResults } from '../../tools/bench/scale/scale-report.js'

t.test('defaults: ImageNet-sized, 1–4 KB objects, 16 readers, all three systems', async (t) => {
  const o = parseScaleOptions([])
  t.equal(o.objects, SCALE_DEFAULT_OBJECTS)
  t.equal(o.objects, 1_281_167)
  t.same([o.perDirectory, o.minBytes, o.maxBytes, o.readers, o.timeLimitSeconds, o.latencyMs], [1300, 1024, 4096, 16, 900, 0])
  t.equal(o.epochFiles, 0, 'epochs read every file')
  t.same(o.systems, ['s3cachefs', 's3fs', 'rclone'])
  t.ok(Object.isFrozen(o))
})

t.test('N and the rest chosen on the command line', async (t) => {
  const o = parseScaleOptions(['--objects', '200,000', '--systems', 's3cachefs', '--time-limit', '60', '--readers', '4', '--s3cachefs-args=--memory-cache-size 64M'])
  t.equal(o.objects, 200_000)
  t.same(o.systems, ['s3cachefs'])
  t.equal(o.timeLimitSeconds, 60)
  t.equal(o.peerTimeLimitSeconds, 60, 'the peers take the same bound unless told')
  t.equal(parseScaleOptions(['--time-limit', '3000', '--peer-time-limit', '600']).peerTimeLimitSeconds, 600)
  t.equal(o.readers, 4)
  t.equal(parseScaleOptions(['--epoch-files', '100,000']).epochFiles, 100_000, 'a sample of the listing per epoch')
  t.same(o.s3cachefsArgs, ['--memory-cache-size', '64M'])
})

t.test('bad values: one line naming the flag', async (t) => {
  const bad: Array<[string[], RegExp]> = [
    [['--objects', '12'], /^--objects must be an integer from 1000 to 10000000 \(got '12'\)$/],
    [['--objects', 'many'], /^--objects must be an integer/],
    [['--systems', 's3cachefs,ftp'], /^--systems: unknown 'ftp'/],
    [['--systems', ','], /^--systems: name at least one system$/],
    [['--min-bytes', '5000'], /^--max-bytes \(4096\) must be at least --min-bytes \(5000\)$/],
    [['--time-limit', '1'], /^--time-limit must be/],
    [['--epoch-files=-5'], /^--epoch-files must be/],
    [['--peer-time-limit', '0'], /^--peer-time-limit must be/],
    [['--bogus'], /bogus/],
  ]
  for (const [argv, message] of bad) {
    try {
      parseScaleOptions(argv)
      t.fail(`${argv.join(' ')} accepted`)
    } catch (err) {
      t.ok(err instanceof OptionsError, argv.join(' '))
      t.match((err as Error).message, message)
      t.notOk((err as Error).message.includes('\n'), 'one line')
    }
  }
})

t.test('figures: per 100,000 files, bytes per file, cells', async (t) => {
  t.equal(perHundredThousand(64, 1_280_000), 5)
  t.equal(perHundredThousand(3, 0), 0)
  t.equal(bytesPerFile(2 ** 30, 1_281_167), 838)
  t.equal(phaseCell(undefined), '—')
  t.equal(phaseCell({ files: 10, note: 'did not finish in 900 s' }), 'did not finish in 900 s')
  t.equal(phaseCell({ seconds: 20, files: 200_000, cpuSeconds: 12.34 }), '20.0 s (10.0 s per 100k, 10,000 files/s); daemon CPU 12.3 s')
  t.equal(phaseCell({ seconds: 2.5, files: 0 }), '2.5 s')
  t.equal(phaseCell({ files: 1_281_167, doneFiles: 412_000, limitSeconds: 600, note: 'did not finish in 600 s' }),
    'did not finish in 600 s: 412,000 of 1,281,167 files by then (687 files/s)', 'a phase cut at the limit: how far it got, and its rate')
})

t.test('the report has a column per system and a row per phase measured', async (t) => {
  const r: ScaleResults = {
    startedAt: '2026-12-01T20:00:00.000Z', command: 'npm run bench -- --scale --objects 100000', objects: 100_000, perDirectory: 1300,
    minBytes: 1024, maxBytes: 4096, readers: 16, timeLimitSeconds: 900, machine: '2 × CPU', load: ['load average 1.0 1.0 1.0'],
    systems: [
      { system: 's3cachefs', phases: { findCold: { seconds: 10, files: 100_000 }, remount: { seconds: 2, files: 100_000 } }, peakRssBytes: 100 * 2 ** 20, notes: [] },
      { system: 's3fs', phases: { findCold: { files: 100_000, note: 'did not finish in 900 s' } }, notes: ['stopped: gave up'] },
    ],
  }
  const md = renderScaleReport(r)
  t.match(md, '| phase | s3cachefs | s3fs |')
  t.match(md, '| `find` cold | 10.0 s (10.0 s per 100k, 10,000 files/s) | did not finish in 900 s |')
  t.match(md, '| remount (N cached blocks) | 2.0 s')
  t.notMatch(md, 'epoch warm', 'no row for a phase nobody measured')
  t.match(md, '100 MiB (1,049 B per file)')
  t.match(md, '- s3fs: stopped: gave up')
  t.notMatch(md, 'memory at the end of each phase', 'no split when no system reported one')
  t.match(md, 'each phase bounded at 900 s.', 'one bound for all')
  t.match(renderScaleReport({ ...r, timeLimitSeconds: 3000, peerTimeLimitSeconds: 600 }), 'each phase bounded at 3,000 s (s3fs-fuse and rclone: 600 s).')
})

t.test('the report splits s3cachefs memory after each phase: heap, outside it, and the native rest per file', async (t) => {
  const MiB = 2 ** 20
  const memory = { rssBytes: 900 * MiB, heapUsedBytes: 120 * MiB, heapTotalBytes: 300 * MiB, externalBytes: 200 * MiB }
  const r: ScaleResults = {
    startedAt: 'x', command: 'c', objects: 1_000_000, perDirectory: 1000, minBytes: 1024, maxBytes: 4096, readers: 16, timeLimitSeconds: 900, machine: 'm', load: [],
    systems: [
      { system: 's3cachefs', phases: { findCold: { seconds: 10, files: 1_000_000, memory }, epochCold: { files: 1_000_000, note: 'did not finish in 900 s', memory: { ...memory, rssBytes: 1000 * MiB } } }, notes: [] },
      { system: 's3fs', phases: { findCold: { seconds: 20, files: 1_000_000 } }, notes: [] },
    ],
  }
  const md = renderScaleReport(r)
  t.match(md, "s3cachefs's memory at the end of each phase")
  t.match(md, '| `find` cold | 900 MiB | 120 MiB / 300 MiB | 200 MiB | 400 MiB (419 B per file) |', 'the rest is RSS minus the heap V8 keeps and the memory outside it')
  t.match(md, '| epoch cold | 1,000 MiB | 120 MiB / 300 MiB | 200 MiB | 500 MiB (524 B per file) |', 'a phase cut at the limit still has its split')
  t.notMatch(md, "s3fs's memory")
})
