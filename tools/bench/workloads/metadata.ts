// The metadata workload: `find` and `ls -lR` over a tree of tiny objects
// through the view, cold (fresh mount) and warm (same mount, page, dentry and
// inode caches dropped). `find` needs names and types; `ls -lR` also needs
// every entry's attributes, which is where one-HEAD-per-entry designs pay.
// For direct GETs the equivalent is paging through ListObjectsV2.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { listAllKeys } from '../link/s3-http.js';
import type { MetadataOp, MetadataResult, MetadataRun } from '../results.js';
import type { BenchSystem, DatasetLocation, View } from '../systems/system.js';
import { fmt, startPhase, type RunContext } from './run-context.js';

/** Runs a command, counting stdout lines that `keep` accepts; rejects on a non-zero exit or timeout. */
function countLines(cmd: string, args: string[], keep: (line: string) => boolean, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let count = 0;
    let partial = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (keep(line)) count++;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-1000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial !== '' && keep(partial)) count++;
      if (code === 0) resolve(count);
      else reject(new Error(`${cmd} ${signal === 'SIGKILL' ? 'timed out' : `exited ${code}`}: ${stderr.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/** `ls -lR` lines that describe an entry (file, directory or link), not headers or totals. */
const LS_ENTRY = /^[-dlcbps][rwxsStT-]{9}/;

async function entriesVia(op: MetadataOp, view: View, ctx: RunContext): Promise<number> {
  if (view.kind === 'http') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      return (await listAllKeys({ endpoint: view.endpoint, bucket: view.bucket }, view.prefix, agent)).keys.length;
    } finally {
      agent.destroy();
    }
  }
  if (op === 'find') return countLines('find', [view.root], () => true, ctx.phaseTimeoutMs);
  return countLines('ls', ['-lR', view.root], (l) => LS_ENTRY.test(l), ctx.phaseTimeoutMs);
}

async function measure(op: MetadataOp, state: 'cold' | 'warm', view: View, ctx: RunContext): Promise<MetadataRun> {
  ctx.cleanup.throwIfAborted();
  const { meter } = startPhase(ctx, view);
  const started = performance.now();
  try {
    const entries = await entriesVia(op, view, ctx);
    const seconds = (performance.now() - started) / 1000;
    return { op, state, entries, seconds, entriesPerSecond: entries / seconds, cost: meter.stop() };
  } catch (err) {
    if (ctx.cleanup.aborted) throw err;
    const seconds = (performance.now() - started) / 1000;
    return { op, state, entries: 0, seconds, entriesPerSecond: 0, cost: meter.stop(), error: (err as Error).message };
  }
}

export async function runMetadata(system: BenchSystem, ds: DatasetLocation, ctx: RunContext): Promise<MetadataResult> {
  const runs: MetadataRun[] = [];
  for (const op of ['find', 'ls-lR'] as const) {
    // A fresh mount per operation, so `ls -lR` cold does not profit from `find`'s lookups.
    const opened = await system.openCold(ds, ctx.system);
    try {
      for (const state of ['cold', 'warm'] as const) {
        const r = await measure(op, state, opened.view, ctx);
        runs.push(r);
        const tail = r.error === undefined ? '' : ` (failed: ${r.error})`;
        ctx.log(`  ${system.label}: ${op} ${state}: ${fmt(r.entries)} entries in ${fmt(r.seconds, 1)} s = ${fmt(r.entriesPerSecond)} entries/s${tail}`);
      }
    } finally {
      await opened.close();
    }
  }
  return { runs };
}
