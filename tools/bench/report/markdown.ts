// Renders report.md from a results object: the setup (machine, link as
// configured and as measured, server ceiling, dataset, page-cache status),
// one table per workload, the targets with measured ratios, the cost of each
// phase (S3 requests by type, bytes, daemon CPU and memory, server CPU), and
// every failure or note. Pure: same results in, same text out.
import { REQUEST_TYPES } from '../link/request-classifier.js';
import type { BenchResults, LinkMeasurement, PhaseCost, ShardRunName, SystemResult } from '../results.js';
import { MiB, n, table } from './md-table.js';
import { prefetchWorkload, targetRows, verdict } from './ratios.js';
import { hasNodes, nodesSection, SCENARIO_LABELS } from './nodes-section.js';
import { hasWrites, writesSection } from './writes-section.js';
import { systemPhases } from './phases.js';

function skipped(r: BenchResults, workload: string): boolean {
  return r.settings.skip.includes(workload);
}

function failureCell(s: SystemResult, part: string | undefined): string | undefined {
  if (s.error !== undefined) return `failed: ${s.error}`;
  return part === undefined ? undefined : `failed: ${part}`;
}

/** Server CPU per GET during the capacity probe, ms: the cost that caps cold reads here. */
function cpuMsPerGet(cap: LinkMeasurement['serverCapacity'] | undefined): number | null {
  if (cap === undefined || !(cap.getsPerSecondViaLink > 0)) return null;
  return (cap.serverCpuUtilisation * 1000) / cap.getsPerSecondViaLink;
}

function setupSection(r: BenchResults): string {
  const m = r.machine;
  const link = r.link;
  const cap = link?.serverCapacity;
  const lines = [
    `## Setup`,
    '',
    table(['', ''], [
      ['Machine', `${m.cores} cores (${m.cpuModel}), ${n(m.memoryBytes / 2 ** 30, 1)} GiB RAM`],
      ['OS / kernel', `${m.os} / ${m.kernel}`],
      ['Node', m.node],
      ['s3fs-fuse', m.s3fsVersion ?? 'not found'],
      ['rclone', m.rcloneVersion ?? 'not found'],
      ['FUSE', m.fuseVersion ?? 'not found'],
      ['S3 server', `${r.server.flavour}: ${r.server.note}`],
      ['Loader', `${r.settings.workers} processes, batch ${r.settings.batch}, ${r.settings.epochs} epochs, step ${r.settings.stepSeconds} s per batch`],
      ['Page cache', r.pageCache.note],
      ['Command', `npm run bench -- ${r.settings.argv.join(' ')}`.trim()],
    ]),
    '',
    `### Emulated link`,
    '',
  ];
  if (link === undefined) {
    lines.push('Link calibration was skipped.');
  } else {
    lines.push(
      table(['', 'configured', 'measured'], [
        ['Added time to first byte', `${n(link.configured.ttfbMs)} ms`, `${n(link.tinyGetMsViaLink - link.tinyGetMsDirect, 1)} ms (tiny GET: ${n(link.tinyGetMsViaLink, 1)} ms via link, ${n(link.tinyGetMsDirect, 1)} ms straight to the server)`],
        ['Bandwidth per connection', `${n(link.configured.megabytesPerSecond)} MB/s`, `${n(link.singleConnectionMegabytesPerSecond, 1)} MB/s (one GET, after the first byte)`],
        [`Server ceiling (${cap?.concurrency ?? '?'} GETs in flight)`, '', `${n(cap?.getsPerSecondViaLink)} GETs/s via link (${n(cap?.megabytesPerSecondViaLink)} MB/s), ${n(cap?.getsPerSecondDirect)} GETs/s direct; server CPU ${n((cap?.serverCpuUtilisation ?? NaN) * 100)} % of one core`],
      ]),
      '',
      `The S3 server here is ${r.server.flavour === 'synthetic' ? 'the synthetic store (single-threaded Node, generated objects)' : 's3rver (single-threaded Node)'}. In this probe it used ${n(cpuMsPerGet(cap), 1)} ms of CPU per ImageNet-sized GET, and with ${r.machine.cores} cores shared by the server, the proxy, the daemon and the readers it served at most ${n(cap?.getsPerSecondViaLink)} GETs/s through the link (${n(cap?.getsPerSecondDirect)} GETs/s without it). **No cold epoch measured on this machine can exceed that rate**, whatever the system; real S3 serves ≥ 5,500 GETs/s per prefix. The proxy itself runs in the harness process (its CPU is the "harness CPU s" column below).`,
    );
  }
  const d = r.dataset;
  lines.push(
    '',
    `### Dataset (seed ${d.seed})`,
    '',
    table(['', ''], [
      ['Images', `${n(d.imageFiles)} JPEGs in ${n(d.imageClasses)} classes, ${n(d.imageBytes / 1e6)} MB; mean ${n(d.imageMeanBytes / 1000, 1)} KB, min ${n(d.imageMinBytes / 1000, 1)} KB, max ${n(d.imageMaxBytes / 1000, 1)} KB`],
      ['Large shard', skipped(r, 'shard') ? 'skipped' : `${n(d.shardBytes / MiB)} MiB${d.shardRandomReads === undefined ? '' : `; random reads: ${n(d.shardRandomReads)} × ${n((d.shardRandomReadBytes ?? NaN) / 1024)} KiB`}`],
      ['Metadata tree', skipped(r, 'metadata') ? 'skipped' : `${n(d.metadataObjects)} tiny objects in ${n(d.metadataDirs)} folders`],
    ]),
  );
  return lines.join('\n');
}

/** Whether `s` runs workload `w` at all (a variant that runs only some has no row in the others' tables). */
function runs(s: SystemResult, w: string): boolean {
  return s.workloads === undefined || s.workloads.includes(w);
}

function loaderSection(r: BenchResults): string {
  const epochs = Array.from({ length: r.settings.epochs }, (_, i) => i + 1);
  const s3fs = r.systems.find((s) => s.name === 's3fs');
  const rows = r.systems.filter((s) => runs(s, 'loader')).map((s) => {
    const fail = failureCell(s, s.loader?.error);
    if (fail !== undefined || s.loader === undefined) return [s.label, fail ?? 'not run', ...epochs.map(() => '')];
    const cells = epochs.map((e) => {
      const ep = s.loader?.epochs.find((x) => x.epoch === e);
      if (ep === undefined) return s.name === 'direct' && e > 1 ? '(= epoch 1: no cache)' : 'n/a';
      const base = s3fs?.loader?.epochs.find((x) => x.epoch === e);
      const vs = base && s.name !== 's3fs' && base.imagesPerSecond > 0 ? ` (${n(ep.imagesPerSecond / base.imagesPerSecond, 1)}× s3fs)` : '';
      const errs = ep.errors > 0 ? ` ⚠ ${n(ep.errors)} errors` : '';
      return `${n(ep.imagesPerSecond)} img/s · ${n(ep.megabytesPerSecond, 1)} MB/s${vs}${errs}`;
    });
    return [s.label, `${n(s.loader.listSeconds, 1)} s (${n(s.loader.listedFiles)} files)`, ...cells];
  });
  return [
    '## Loader (ImageNet-style, reference method)',
    '',
    'Images/s per process summed over processes (the published measure); MB/s over wall-clock time. Page cache dropped before every epoch. Epoch 1 starts from an empty cache.',
    '',
    table(['system', 'listing', ...epochs.map((e) => `epoch ${e}`)], rows),
    '',
    '![images/s per epoch](loader.svg)',
  ].join('\n');
}

/** The shard table's columns, in order: [run, header]. */
const SHARD_COLUMNS: readonly (readonly [ShardRunName, string])[] = [
  ['cold-seq', 'cold sequential'],
  ['warm-seq', 'warm sequential'],
  ['cold-par4', 'cold, 4 readers'],
  ['warm-par4', 'warm, 4 readers'],
  ['cold-rand', 'random cold, 1 thread'],
  ['warm-rand', 'random warm, 1 thread'],
  ['cold-rand4', 'random cold, 4 threads'],
  ['warm-rand4', 'random warm, 4 threads'],
];

/** How shard runs were measured: in several passes (warm since session 18, cold since session 23), or once. */
function passesText(r: BenchResults): string {
  const passesOf = (cold: boolean): number =>
    Math.max(0, ...r.systems.flatMap((s) => (s.shard?.runs ?? []).filter((run) => run.name.startsWith('cold') === cold).map((run) => run.passes?.length ?? 0)));
  const cold = passesOf(true);
  const warm = passesOf(false);
  const parts = [
    ...(cold > 1 ? [`each cold run is the median of ${cold} passes, each on a fresh mount and cache`] : []),
    ...(warm > 1 ? [`each warm run is the median of ${warm} passes ${cold > 1 ? 'on the last of them' : 'on the same mount'}, the page cache dropped before each`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join('; ')}; every pass's MB/s is in results.json)` : '';
}

function randomReadsText(r: BenchResults): string {
  const d = r.dataset;
  if (d.shardRandomReads === undefined || d.shardRandomReadBytes === undefined) return 'Random reads were not part of this run.';
  const share = (d.shardRandomReads * d.shardRandomReadBytes) / d.shardBytes;
  return `Random: ${n(d.shardRandomReads)} preads of ${n(d.shardRandomReadBytes / 1024)} KiB at seeded, distinct, aligned offsets in a shuffled order (${n(share * 100, 1)} % of the shard), by one reader process with one thread, then on a fresh mount with 4 threads splitting the list on one descriptor; cold, then warm (the same list again, page cache dropped). Direct = one ranged GET per read, as many in flight as threads.`;
}

/** MB the store sent during each shard run, and how many times the bytes the readers asked for. */
function bytesFetchedTable(r: BenchResults): string | undefined {
  const rows = r.systems.filter((s) => (s.shard?.runs ?? []).some((run) => madeRequests(run.cost))).map((s) => [s.label, ...SHARD_COLUMNS.map(([name]) => {
    const run = s.shard?.runs.find((x) => x.name === name);
    if (run === undefined) return 'n/a';
    if (run.cost.bytesDown === 0) return '0';
    const times = run.bytes > 0 ? ` (${n(run.cost.bytesDown / run.bytes, 2)}×)` : '';
    return `${n(run.cost.bytesDown / 1e6, 1)} MB${times}`;
  })]);
  if (rows.length === 0) return undefined;
  return [
    '### Bytes fetched from the store',
    '',
    'MB downloaded through the emulated link during each run, and in brackets that over the bytes the readers read: above 1× is read-ahead or block rounding fetched and not read in that run, 0: the run was served from a cache. Systems that make no requests (local disk, the FUSE ceiling) have no row.',
    '',
    table(['system', ...SHARD_COLUMNS.map(([, header]) => header)], rows),
  ].join('\n');
}

function shardSection(r: BenchResults): string {
  const rows = r.systems.map((s) => {
    const fail = failureCell(s, s.shard?.error);
    if (fail !== undefined || s.shard === undefined) return [s.label, fail ?? 'not run', ...SHARD_COLUMNS.slice(1).map(() => '')];
    return [s.label, ...SHARD_COLUMNS.map(([name]) => {
      const run = s.shard?.runs.find((x) => x.name === name);
      if (run === undefined) return 'n/a';
      return `${n(run.megabytesPerSecond)} MB/s${run.errors > 0 ? ` ⚠ ${run.errors} errors` : ''}`;
    })];
  });
  const fetched = bytesFetchedTable(r);
  return [
    `## Large shard (${n(r.dataset.shardBytes / MiB)} MiB)`,
    '',
    `Sequential: 1 MiB reads by one reader, then 4 readers each reading a quarter; cold = fresh mount and empty cache, warm = same mount, page cache dropped${passesText(r)}. Direct = parallel 8 MiB ranged GETs (16 in flight).`,
    '',
    randomReadsText(r),
    '',
    'Each pair of columns (cold, warm) is one fresh mount. Daemon CPU and peak RSS per run: "shard" phases under Cost per phase.',
    '',
    table(['system', ...SHARD_COLUMNS.map(([, header]) => header)], rows),
    '',
    '![shard MB/s, sequential](shard.svg)',
    '![shard MB/s, random reads](shard-random.svg)',
    ...(fetched === undefined ? [] : ['', fetched]),
  ].join('\n');
}

function metadataSection(r: BenchResults): string {
  const cols = [['find', 'cold'], ['find', 'warm'], ['ls-lR', 'cold'], ['ls-lR', 'warm']] as const;
  const rows = r.systems.filter((s) => runs(s, 'metadata')).map((s) => {
    const fail = failureCell(s, s.metadata?.error);
    if (fail !== undefined || s.metadata === undefined) return [s.label, fail ?? 'not run', '', '', ''];
    return [s.label, ...cols.map(([op, state]) => {
      const run = s.metadata?.runs.find((x) => x.op === op && x.state === state);
      if (run === undefined) return 'n/a';
      if (run.error !== undefined) return `failed: ${run.error}`;
      return `${n(run.entriesPerSecond)} entries/s (${n(run.seconds, 1)} s)`;
    })];
  });
  return [
    `## Metadata (${n(r.dataset.metadataObjects)} tiny objects)`,
    '',
    '`find` and `ls -lR` over the tree; cold = fresh mount, warm = same mount with page/dentry/inode caches dropped. Direct = ListObjectsV2 pages of 1,000 keys.',
    '',
    table(['system', 'find cold', 'find warm', 'ls -lR cold', 'ls -lR warm'], rows),
    '',
    '![metadata entries/s](metadata.svg)',
  ].join('\n');
}

/** Which workload a target row is about, so rows of skipped workloads are left out. */
function rowWorkload(metric: string): string {
  if (metric.startsWith('two nodes')) return 'nodes';
  if (metric.startsWith('checkpoint writes')) return 'writes';
  if (metric.startsWith('shard')) return 'shard';
  if (metric.startsWith('find') || metric.startsWith('ls')) return 'metadata';
  return prefetchWorkload(metric) ?? 'loader';
}

function targetsSection(r: BenchResults): string {
  const ran = (workload: string): boolean => !skipped(r, workload) && (workload !== 'writes' || hasWrites(r)) && (workload !== 'nodes' || hasNodes(r));
  const rows = targetRows(r).filter((row) => ran(rowWorkload(row.metric)));
  if (rows.length === 0) return '## Targets\n\nNo candidate system (s3cachefs) ran in this run, so no target ratios are computed.';
  return [
    '## Targets',
    '',
    table(['system', 'measure', 'against', 'measured ratio', 'target', 'verdict'], rows.map((row) => [
      row.system,
      row.metric,
      row.against,
      row.ratio === null ? 'n/a' : `${n(row.ratio, 2)}×`,
      row.target === null ? (row.note ?? '') : `≥ ${row.target}×${row.note ? ` (${row.note})` : ''}`,
      verdict(row),
    ])),
  ].join('\n');
}

function madeRequests(c: PhaseCost): boolean {
  return REQUEST_TYPES.some((t) => c.requests[t] > 0);
}

/** A phase with no S3 traffic and no daemon (local disk) has nothing to show. */
function hasCost(c: PhaseCost): boolean {
  return c.daemon !== undefined || madeRequests(c);
}

function costRow(system: string, phase: string, c: PhaseCost): string[] {
  return [
    system,
    phase,
    ...REQUEST_TYPES.map((t) => n(c.requests[t])),
    n(c.bytesDown / 1e6, 1),
    n(c.bytesUp / 1e6, 1),
    c.daemon ? n(c.daemon.cpuSeconds, 2) : '',
    c.daemon ? n(c.daemon.peakRssBytes / MiB) : '',
    n(c.serverCpuSeconds, 2),
    n(c.harnessCpuSeconds, 2),
  ];
}

function costSection(r: BenchResults): string {
  const phases = r.systems.flatMap(systemPhases);
  const rows = phases.filter((p) => hasCost(p.cost)).map((p) => costRow(p.system, p.phase, p.cost));
  return [
    '## Cost per phase',
    '',
    'S3 requests by type and MB downloaded and uploaded, counted at the emulated link (multipart uploads: each part is a PUT, start and completion are "other"); CPU seconds and peak RSS (sampled VmRSS) of the FUSE daemon (for the FUSE ceiling, passthrough_ll); CPU seconds of the S3 server and of the harness (which runs the proxy). Local disk makes no requests and has no daemon, so it has no rows.',
    '',
    table(['system', 'phase', ...REQUEST_TYPES.map((t) => t.replace('_', ' ')), 'MB down', 'MB up', 'daemon CPU s', 'daemon peak RSS MiB', 'server CPU s', 'harness CPU s'], rows),
  ].join('\n');
}

function notesSection(r: BenchResults): string {
  const notes = [...r.notes];
  for (const s of r.systems) {
    notes.push(...(s.notes ?? []));
    if (s.error) notes.push(`${s.label} failed: ${s.error}`);
    if (s.loader?.error) notes.push(`${s.label} loader failed: ${s.loader.error}`);
    if (s.shard?.error) notes.push(`${s.label} shard failed: ${s.shard.error}`);
    if (s.metadata?.error) notes.push(`${s.label} metadata failed: ${s.metadata.error}`);
    if (s.writes?.error) notes.push(`${s.label} writes failed: ${s.writes.error}`);
    for (const row of s.writes?.rows ?? []) for (const w of row.runs) if (w.error) notes.push(`${row.label} write ${w.test} failed: ${w.error}`);
    if (s.nodes?.error) notes.push(`${s.label} two nodes failed: ${s.nodes.error}`);
    for (const sc of s.nodes?.scenarios ?? []) {
      if (sc.error) notes.push(`${s.label} two nodes, ${SCENARIO_LABELS[sc.scenario]}: failed: ${sc.error}`);
      for (const run of sc.runs) if (run.errors > 0) notes.push(`${s.label} two nodes, ${SCENARIO_LABELS[sc.scenario]}, node ${run.node}: ${run.errors} read errors, first: ${run.firstError ?? '?'}`);
    }
    for (const e of s.loader?.epochs ?? []) if (e.errors > 0) notes.push(`${s.label} epoch ${e.epoch}: ${e.errors} read errors, first: ${e.firstError ?? '?'}`);
    // The "torch is not installed" note is run-wide; repeat only system-specific torch failures.
    if (s.torch && !s.torch.ran && !notes.includes(s.torch.note)) notes.push(`${s.label}: ${s.torch.note}`);
  }
  return ['## Notes', '', ...(notes.length === 0 ? ['None.'] : notes.map((x) => `- ${x}`))].join('\n');
}

function torchSection(r: BenchResults): string | undefined {
  const ran = r.systems.filter((s) => s.torch?.ran);
  if (ran.length === 0) return undefined;
  const epochs = Array.from({ length: r.settings.epochs }, (_, i) => i + 1);
  return [
    '## PyTorch DataLoader + ImageFolder',
    '',
    'Raw bytes, no decoding; the page cache dropped before every epoch. "announcing sampler": `s3cachefs.AnnouncingSampler` (python/) around the same shuffle, from a cold cache again.',
    '',
    table(['system', ...epochs.map((e) => `epoch ${e}`)], ran.flatMap((s) => [
      [s.label, ...epochs.map((e) => `${n(s.torch?.epochs?.find((x) => x.epoch === e)?.imagesPerSecond)} img/s`)],
      ...(s.torch?.samplerEpochs === undefined ? [] : [[`${s.label} + announcing sampler`, ...epochs.map((e) => `${n(s.torch?.samplerEpochs?.find((x) => x.epoch === e)?.imagesPerSecond)} img/s`)]]),
    ])),
  ].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const parts = [
    `# s3cachefs benchmark — ${r.startedAt}`,
    `${r.settings.quick ? 'Quick run' : 'Full run'} of systems ${r.settings.systems.join(', ')}; took ${n(r.durationSeconds / 60, 1)} min. Raw numbers: [results.json](results.json).`,
    setupSection(r),
    targetsSection(r),
    skipped(r, 'loader') ? undefined : loaderSection(r),
    torchSection(r),
    skipped(r, 'shard') ? undefined : shardSection(r),
    skipped(r, 'metadata') ? undefined : metadataSection(r),
    skipped(r, 'writes') || !hasWrites(r) ? undefined : writesSection(r),
    skipped(r, 'nodes') || !hasNodes(r) ? undefined : nodesSection(r),
    costSection(r),
    notesSection(r),
  ];
  return parts.filter((p): p is string => p !== undefined).join('\n\n') + '\n';
}
