// `npm run bench`: the reference benchmark on one machine. It prepares the
// datasets (once), starts the local S3 server and the emulated link in front
// of it, measures what the link delivers, then runs every workload (loader,
// large shard, metadata, checkpoint writes, optional PyTorch) on every
// selected system in turn, and writes
// bench/results/<timestamp>/{report.md,results.json,*.svg}. A
// failing system or workload is recorded and the run goes on; every mount,
// server and worker is released on exit, error or Ctrl-C.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEnvironment, type BenchEnvironment } from './env/bench-environment.js';
import { Cleanup } from './env/cleanup.js';
import { machineInfo } from './env/machine-info.js';
import { OptionsError, parseOptions, USAGE, type BenchOptions } from './options.js';
import { writeReport } from './report/write-report.js';
import type { BenchResults } from './results.js';
import { ALL_SYSTEMS } from './systems/registry.js';
import { memoryCacheBytes } from './systems/s3cachefs-system.js';
import { measureLink } from './workloads/calibration.js';
import type { RunContext } from './workloads/run-context.js';
import { errorMessage, runSystem } from './workloads/run-system.js';
import { torchAvailable } from './workloads/torch-loader.js';
import { runScaleBench } from './scale/scale-main.js';

// tools/dist/tools/bench/main.js → the repository root.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const started = performance.now();

function log(line: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${s}s] ${line}\n`);
}

function newResults(opts: BenchOptions, argv: string[], startedAt: Date, env: BenchEnvironment): BenchResults {
  const memoryCache = memoryCacheBytes(opts.s3cachefsArgs);
  return {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    settings: {
      quick: opts.quick,
      workers: opts.workers,
      batch: opts.batch,
      epochs: opts.epochs,
      stepSeconds: opts.stepSeconds,
      systems: ALL_SYSTEMS.filter((s) => opts.systems.includes(s.name)).map((s) => s.name),
      skip: [...opts.skip],
      argv,
      ...(memoryCache === undefined ? {} : { s3cachefsMemoryCacheBytes: memoryCache }),
    },
    machine: machineInfo(),
    server: { flavour: env.server.flavour, note: `${env.server.endpoint}, data directory ${env.server.directory}` },
    pageCache: env.pageCache,
    dataset: env.data.summary,
    systems: [],
    notes: env.notes,
  };
}

function finish(r: BenchResults): BenchResults {
  r.finishedAt = new Date().toISOString();
  r.durationSeconds = (performance.now() - started) / 1000;
  return r;
}

async function calibrate(env: BenchEnvironment, ctx: RunContext, results: BenchResults): Promise<void> {
  const c = env.data.calibration;
  const l = await measureLink({ serverEndpoint: env.server.endpoint, bucket: c.bucket, tinyKey: c.tinyKey, blobKey: c.blobKey, imageKeys: env.data.imageKeys }, ctx);
  results.link = l;
  const cap = l.serverCapacity;
  log(
    `link measured: tiny GET ${l.tinyGetMsViaLink.toFixed(1)} ms via link vs ${l.tinyGetMsDirect.toFixed(1)} ms direct; ` +
      `${l.singleConnectionMegabytesPerSecond.toFixed(1)} MB/s per connection; server ceiling ${cap.getsPerSecondViaLink.toFixed(0)} GETs/s via link, ` +
      `${cap.getsPerSecondDirect.toFixed(0)} direct (server CPU ${(cap.serverCpuUtilisation * 100).toFixed(0)} %)`,
  );
}

async function run(opts: BenchOptions, argv: string[]): Promise<string> {
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers((m) => process.stderr.write(`${m}\n`));
  const startedAt = new Date();
  const outDir = resolve(REPO_ROOT, opts.out ?? join('bench', 'results', startedAt.toISOString().replace(/[:.]/g, '-')));
  const workDir = await mkdtemp(join(tmpdir(), 's3cachefs-bench-'));
  cleanup.add('scratch directory', () => rm(workDir, { recursive: true, force: true }));
  let results: BenchResults | undefined;
  try {
    const env = await startEnvironment(opts, resolve(REPO_ROOT, opts.cacheDir), cleanup, log);
    results = newResults(opts, argv, startedAt, env);
    const ctx: RunContext = {
      link: env.link,
      cleanup,
      system: { link: env.link, workDir, logDir: outDir, repoRoot: REPO_ROOT, cleanup, s3cachefsArgs: opts.s3cachefsArgs },
      serverPid: env.server.pid,
      serverEndpoint: env.server.endpoint,
      seed: opts.seed,
      workers: opts.workers,
      batch: opts.batch,
      epochs: opts.epochs,
      stepSeconds: opts.stepSeconds,
      phaseTimeoutMs: opts.phaseTimeoutSeconds * 1000,
      log,
    };
    const skip = new Set(opts.skip);
    if (!skip.has('calibration')) await calibrate(env, ctx, results);
    const torch = skip.has('torch') ? { ok: false, note: 'PyTorch variant skipped (--skip torch)' } : torchAvailable();
    if (!skip.has('torch') && !torch.ok) results.notes.push(torch.note);
    for (const system of ALL_SYSTEMS.filter((s) => opts.systems.includes(s.name))) {
      results.systems.push(await runSystem(system, env.data, ctx, skip, torch));
      // Rewritten after every system, so an interrupted run still leaves a report.
      await writeReport(outDir, finish(results));
    }
    return outDir;
  } catch (err) {
    results?.notes.push(`The run stopped early: ${errorMessage(err)}`);
    throw err;
  } finally {
    if (results !== undefined) await writeReport(outDir, finish(results)).catch(() => undefined);
    await cleanup.runAll();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--scale')) {
    process.exitCode = await runScaleBench(argv.filter((a) => a !== '--scale'), REPO_ROOT, log);
    return;
  }
  let opts: BenchOptions;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`bench: ${err.message} (see --help)\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const outDir = await run(opts, argv);
  log(`done in ${((performance.now() - started) / 60000).toFixed(1)} min: ${join(outDir, 'report.md')}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
