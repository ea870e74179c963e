// Writes a run's results folder: results.json (raw numbers), report.md and
// the SVG charts it embeds (loader images/s per epoch, shard MB/s sequential
// and random, metadata entries/s, checkpoint writes MB/s). Called at the end of a run and also
// after a failure, so a partial run still leaves a readable report.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResults, MetadataOp, ShardRunName, WriteTest } from '../results.js';
import { renderMarkdown } from './markdown.js';
import { sizeLabel } from './md-table.js';
import { hasWrites } from './writes-section.js';
import { renderGroupedBars, type GroupedBarChart } from './svg-chart.js';

/** One colour per system across all charts (Okabe-Ito, colour-blind safe). */
const SYSTEM_COLOURS: Record<string, string> = {
  s3cachefs: '#0072B2',
  's3cachefs-async': '#56B4E9',
  s3fs: '#E69F00',
  rclone: '#CC79A7',
  local: '#009E73',
  passthrough: '#D55E00',
  direct: '#999999',
};

function colour(name: string): { colour?: string } {
  const c = SYSTEM_COLOURS[name];
  return c === undefined ? {} : { colour: c };
}

export function loaderChart(r: BenchResults): GroupedBarChart {
  const withLoader = r.systems.filter((s) => s.loader !== undefined && s.loader.epochs.length > 0);
  return {
    title: 'Loader throughput per epoch',
    subtitle: `${r.dataset.imageFiles.toLocaleString('en-US')} JPEGs, ${r.settings.workers} processes, batch ${r.settings.batch}, page cache dropped each epoch`,
    yLabel: 'images/s (summed over processes)',
    groups: Array.from({ length: r.settings.epochs }, (_, i) => (i === 0 ? 'epoch 1 (cold)' : `epoch ${i + 1} (warm)`)),
    series: withLoader.map((s) => ({
      name: s.label,
      ...colour(s.name),
      values: Array.from({ length: r.settings.epochs }, (_, i) => s.loader?.epochs.find((e) => e.epoch === i + 1)?.imagesPerSecond ?? null),
    })),
  };
}

function shardBars(r: BenchResults, names: readonly (readonly [ShardRunName, string])[]): Pick<GroupedBarChart, 'groups' | 'series'> {
  return {
    groups: names.map(([, label]) => label),
    series: r.systems.filter((s) => s.shard !== undefined && s.shard.runs.length > 0).map((s) => ({
      name: s.label,
      ...colour(s.name),
      values: names.map(([name]) => {
        const run = s.shard?.runs.find((x) => x.name === name);
        return run === undefined || run.errors > 0 ? null : run.megabytesPerSecond;
      }),
    })),
  };
}

export function shardChart(r: BenchResults): GroupedBarChart {
  return {
    title: 'Large shard read throughput, sequential',
    subtitle: `${Math.round(r.dataset.shardBytes / 1048576).toLocaleString('en-US')} MiB shard, sequential 1 MiB reads`,
    yLabel: 'MB/s',
    ...shardBars(r, [['cold-seq', 'cold, 1 reader'], ['warm-seq', 'warm, 1 reader'], ['cold-par4', 'cold, 4 readers'], ['warm-par4', 'warm, 4 readers']]),
  };
}

/** Its own chart: random reads run one to two orders of magnitude below sequential ones, and would vanish on that axis. */
export function shardRandomChart(r: BenchResults): GroupedBarChart {
  const d = r.dataset;
  const reads = d.shardRandomReads === undefined ? 'random' : `${d.shardRandomReads.toLocaleString('en-US')} random ${Math.round((d.shardRandomReadBytes ?? NaN) / 1024)} KiB`;
  return {
    title: 'Large shard read throughput, random reads',
    subtitle: `${Math.round(d.shardBytes / 1048576).toLocaleString('en-US')} MiB shard, ${reads} preads at seeded offsets`,
    yLabel: 'MB/s',
    ...shardBars(r, [['cold-rand', 'cold, 1 thread'], ['warm-rand', 'warm, 1 thread'], ['cold-rand4', 'cold, 4 threads'], ['warm-rand4', 'warm, 4 threads']]),
  };
}

export function metadataChart(r: BenchResults): GroupedBarChart {
  const cols: [MetadataOp, 'cold' | 'warm'][] = [['find', 'cold'], ['find', 'warm'], ['ls-lR', 'cold'], ['ls-lR', 'warm']];
  return {
    title: 'Metadata operations over a tree of tiny objects',
    subtitle: `${r.dataset.metadataObjects.toLocaleString('en-US')} objects in ${r.dataset.metadataDirs.toLocaleString('en-US')} folders`,
    yLabel: 'entries/s (log scale)',
    scale: 'log',
    groups: cols.map(([op, state]) => `${op === 'ls-lR' ? 'ls -lR' : op} ${state}`),
    series: r.systems.filter((s) => s.metadata !== undefined && s.metadata.runs.length > 0).map((s) => ({
      name: s.label,
      ...colour(s.name),
      values: cols.map(([op, state]) => {
        const run = s.metadata?.runs.find((x) => x.op === op && x.state === state);
        return run === undefined || run.error !== undefined ? null : run.entriesPerSecond;
      }),
    })),
  };
}

export function writesChart(r: BenchResults): GroupedBarChart {
  const file = sizeLabel(r.dataset.writeCheckpointBytes ?? NaN);
  const files = (r.dataset.writeSmallFiles ?? NaN).toLocaleString('en-US');
  const cols: [WriteTest, 'closeMegabytesPerSecond' | 'durableMegabytesPerSecond', string][] = [
    ['checkpoint', 'closeMegabytesPerSecond', `${file} file: close`],
    ['checkpoint', 'durableMegabytesPerSecond', `${file} file: durable`],
    ['small-files', 'closeMegabytesPerSecond', `${files} files: close`],
    ['small-files', 'durableMegabytesPerSecond', `${files} files: durable`],
  ];
  return {
    title: 'Checkpoint writes',
    subtitle: 'MB/s from the writer\'s start until close() returned, and until the data was in the bucket',
    yLabel: 'MB/s',
    groups: cols.map(([, , label]) => label),
    series: r.systems.flatMap((s) => s.writes?.rows ?? []).map((row) => ({
      name: row.label,
      ...colour(row.name),
      values: cols.map(([test, field]) => row.runs.find((x) => x.test === test)?.[field] ?? null),
    })),
  };
}

export async function writeReport(dir: string, r: BenchResults): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'results.json'), JSON.stringify(r, null, 2) + '\n');
  // Charts only for workloads that ran: report.md links exactly these.
  const charts: [string, string, (r: BenchResults) => GroupedBarChart][] = [
    ['loader', 'loader.svg', loaderChart],
    ['shard', 'shard.svg', shardChart],
    ['shard', 'shard-random.svg', shardRandomChart],
    ['metadata', 'metadata.svg', metadataChart],
    ['writes', 'writes.svg', writesChart],
  ];
  for (const [workload, file, chart] of charts) {
    if (workload === 'writes' && !hasWrites(r)) continue;
    if (!r.settings.skip.includes(workload)) await writeFile(join(dir, file), renderGroupedBars(chart(r)));
  }
  await writeFile(join(dir, 'report.md'), renderMarkdown(r));
}
