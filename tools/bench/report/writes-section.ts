// The report's checkpoint-writes section: one row per way a system was
// mounted for writing (s3cachefs sync and async, s3fs-fuse, rclone mount,
// local disk), with the time until the writer's close() returned and until
// the data was in the bucket, for the large file and the folder of small
// files. Pure: same results in, same text out.
import type { BenchResults, SystemResult, WriteRun, WriteTest } from '../results.js';
import { n, sizeLabel, table } from './md-table.js';

/** Whether any system has writes results (results from before the workload existed have none). */
export function hasWrites(r: BenchResults): boolean {
  return r.systems.some((s) => s.writes !== undefined);
}

function sizes(r: BenchResults): { file: string; files: string; fileBytes: string } {
  const d = r.dataset;
  return { file: sizeLabel(d.writeCheckpointBytes ?? NaN), files: n(d.writeSmallFiles), fileBytes: `${n((d.writeSmallFileBytes ?? NaN) / 1000)} KB` };
}

function timeCell(run: WriteRun, seconds: number | null, mbps: number | null): string {
  const perFile = run.test === 'small-files' && seconds !== null ? ` · ${n(run.files / seconds)} files/s` : '';
  return `${n(seconds, 1)} s${perFile} · ${n(mbps, 1)} MB/s`;
}

/** The close and durable cells of one test: a time, or the failure in the first cell that failed. */
function cells(run: WriteRun | undefined): [string, string] {
  if (run === undefined) return ['n/a', 'n/a'];
  if (run.closeSeconds === null) return [`failed: ${run.error ?? '?'}`, ''];
  const close = timeCell(run, run.closeSeconds, run.closeMegabytesPerSecond);
  if (run.durableSeconds === null) return [close, `failed: ${run.error ?? '?'}`];
  const where = run.durableVia === 'sync' ? ' (synced to disk)' : run.flushSeconds !== undefined ? ` (flush returned at ${n(run.flushSeconds, 1)} s)` : '';
  return [close, timeCell(run, run.durableSeconds, run.durableMegabytesPerSecond) + where];
}

function rowsOf(s: SystemResult): string[][] {
  const failed = s.error ?? s.writes?.error;
  if (failed !== undefined) return [[s.label, `failed: ${failed}`, '', '', '']];
  return (s.writes?.rows ?? []).map((row) => {
    const of = (test: WriteTest): WriteRun | undefined => row.runs.find((x) => x.test === test);
    return [row.label, ...cells(of('checkpoint')), ...cells(of('small-files'))];
  });
}

export function writesSection(r: BenchResults): string {
  const { file, files, fileBytes } = sizes(r);
  const rows = r.systems.filter((s) => s.writes !== undefined || s.error !== undefined).flatMap(rowsOf);
  return [
    `## Checkpoint writes (${file} file; ${files} × ${fileBytes} files)`,
    '',
    `Each test on a fresh mount of an empty prefix; the writer is a child process: \`dd bs=4M\` for the file, \`cp -r\` for the folder. *close*: from the writer's start until its last close() returned. *durable*: until every object was in the bucket at its full size, polled at the S3 server directly, the same way for every system (s3fs-fuse uploads before close returns; rclone 5 s after it, its default \`--vfs-write-back\`); for local disk, until synced. For s3cachefs, \`s3cachefs flush\` runs beside the polling; the time it returned is shown too. s3cachefs is mounted with \`--write-mode sync\` (close returns once the data is in the bucket) and \`--write-mode async\`. Daemon CPU and memory per test: "write" phases under Cost per phase.`,
    '',
    table(['system', `${file} file: close`, `${file} file: durable in bucket`, `${files} files: close`, `${files} files: durable in bucket`], rows),
    '',
    '![checkpoint writes MB/s](writes.svg)',
  ].join('\n');
}
