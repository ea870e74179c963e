// `npm run bench -- --scale`: the scale benchmark (issue 14). Starts the synthetic S3 store
// (tools/local-s3/synthetic-s3-server-main.ts, its own process, N objects computed from their
// keys, nothing on disk), runs scale-run.ts on each selected system in turn, and writes
// scale.md and scale.json into the results folder after each system. Everything it started
// is released on exit, error or Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Cleanup } from '../env/cleanup.js';
import { OptionsError } from '../options.js';
import { parseScaleOptions, SCALE_PREFIX, SCALE_USAGE, type ScaleOptions } from './scale-options.js';
import { renderScaleReport, type ScaleResults } from './scale-report.js';
import { runScaleSystem } from './scale-run.js';

const BUCKET = 'synth';

async function startStore(repoRoot: string, opts: ScaleOptions, cleanup: Cleanup): Promise<string> {
  const main = join(repoRoot, 'tools', 'dist', 'tools', 'local-s3', 'synthetic-s3-server-main.js');
  const child = spawn(process.execPath, [main, '--bucket', BUCKET, '--objects', String(opts.objects), '--per-directory', String(opts.perDirectory),
    '--prefix', SCALE_PREFIX, '--min-bytes', String(opts.minBytes), '--max-bytes', String(opts.maxBytes), '--latency-ms', String(opts.latencyMs)],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add('synthetic store', () => { child.kill('SIGTERM'); });
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout }).once('line', ok);
    child.once('exit', (code) => fail(new Error(`the synthetic store exited (${code}) before it was ready`)));
  });
  return (JSON.parse(line) as { endpoint: string }).endpoint;
}

const load = () => `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at ${new Date().toISOString().slice(11, 16)} UTC`;

export async function runScaleBench(argv: readonly string[], repoRoot: string, log: (line: string) => void): Promise<number> {
  let opts: ScaleOptions;
  try {
    opts = parseScaleOptions(argv);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`bench: ${err.message} (see --scale --help)\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${SCALE_USAGE}\n`);
    return 0;
  }
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers((m) => process.stderr.write(`${m}\n`));
  const startedAt = new Date();
  const outDir = resolve(repoRoot, opts.out ?? join('bench', 'results', `scale-${startedAt.toISOString().replace(/[:.]/g, '-')}`));
  await mkdir(outDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 's3cachefs-scale-'));
  cleanup.add('scratch directory', () => rm(workDir, { recursive: true, force: true }));
  const results: ScaleResults = {
    startedAt: startedAt.toISOString(), command: `npm run bench -- --scale ${argv.join(' ')}`.trim(), objects: opts.objects,
    perDirectory: opts.perDirectory, minBytes: opts.minBytes, maxBytes: opts.maxBytes, readers: opts.readers,
    timeLimitSeconds: opts.timeLimitSeconds, peerTimeLimitSeconds: opts.peerTimeLimitSeconds, machine: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
    load: [load()], systems: [],
  };
  const write = async () => {
    await writeFile(join(outDir, 'scale.json'), JSON.stringify(results, null, 2));
    await writeFile(join(outDir, 'scale.md'), renderScaleReport(results));
  };
  try {
    const endpoint = await startStore(repoRoot, opts, cleanup);
    log(`synthetic store: ${opts.objects} objects at ${endpoint}`);
    for (const system of opts.systems) {
      cleanup.throwIfAborted();
      results.systems.push(await runScaleSystem(system, { opts, endpoint, bucket: BUCKET, workDir, logDir: outDir, repoRoot, cleanup, log }));
      results.load.push(load());
      await write();
    }
  } finally {
    await write().catch(() => undefined);
    await cleanup.runAll();
  }
  log(`scale report: ${join(outDir, 'scale.md')}`);
  return 0;
}
