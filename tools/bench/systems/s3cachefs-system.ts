// s3cachefs, the system being judged: mounted through its CLI
// (`node dist/cli.js mount ...`, which returns once the mount is live and
// leaves a background daemon whose command line names the mount point), with
// a fresh cache directory for every cold view, and taken down with its own
// `unmount` command. Its logs go to the results folder. The writes workload
// measures it twice, with `--write-mode sync` (the default) and `async`, and
// waits for durability with its `flush` command. The two-node workload mounts
// it per node with `--shared-cache` and `--coordinator` (nodeVariant) and reads
// its shared-tier figures from the daemon's control socket.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonPid, unmount, waitForMount } from './fuse-mount.js';
import type { BenchSystem, DatasetLocation, MountVariant, NodeSetup, OpenView, SharedTierFigures, SystemContext } from './system.js';
import { LOCAL_CREDENTIALS } from '../link/sigv4.js';
import { controlRequest } from '../../../src/cli/control-client.js';
import type { StatsSnapshot } from '../../../src/daemon/stats-snapshot.js';
import { MEMORY_CACHE_SIZE } from '../../../src/config/defaults.js';
import { parseBytes } from '../../../src/config/units.js';
import { discardLater } from '../util/discard-later.js';

const execFileAsync = promisify(execFile);

/** Big enough that no quick or full run evicts: the warm epochs measure hits, not eviction. */
const CACHE_SIZE = '20GiB';

let mountCounter = 0;

/**
 * The in-memory block cache the daemon runs with: the last
 * `--memory-cache-size` in `args` (from --s3cachefs-args), else the product's
 * default; undefined if unparsable. A warm run over data that fits it reads
 * memory, not the disk cache, and the report must say so.
 */
export function memoryCacheBytes(args: readonly string[]): number | undefined {
  let value = MEMORY_CACHE_SIZE;
  args.forEach((a, i) => {
    if (a === '--memory-cache-size' && args[i + 1] !== undefined) value = args[i + 1] as string;
    else if (a.startsWith('--memory-cache-size=')) value = a.slice('--memory-cache-size='.length);
  });
  try {
    return parseBytes(value, '--memory-cache-size');
  } catch {
    return undefined;
  }
}

/**
 * The line of a failed command's output that says what went wrong: a Node crash
 * prints the source location first (`.../node-gyp-build.js:60`) and the
 * `Error: ...` line a few lines below.
 */
export function firstErrorLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[0] ?? 'no output';
}

function cliEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_CREDENTIALS.region,
  };
}

/** The two write modes (README: `--write-mode`), each a row of the writes workload. */
const WRITE_VARIANTS: readonly MountVariant[] = [
  { name: 's3cachefs', label: 's3cachefs', mountArgs: ['--write-mode', 'sync'] },
  { name: 's3cachefs-async', label: 's3cachefs async', mountArgs: ['--write-mode', 'async'] },
];

/** One node of the many-nodes workload: `--shared-cache` on the source's endpoint (the node's link), `--coordinator`. */
export function nodeVariant(setup: NodeSetup): MountVariant {
  const tier = setup.sharedCache === undefined ? [] : ['--shared-cache', setup.sharedCache];
  const coordinator = setup.coordinator === undefined ? [] : ['--coordinator', setup.coordinator];
  const suffix = [setup.sharedCache === undefined ? '' : 'tier', setup.coordinator === undefined ? '' : 'redis'].filter((x) => x !== '').join('-');
  return { name: `s3cachefs-node-${setup.node}${suffix === '' ? '' : `-${suffix}`}`, label: `s3cachefs node ${setup.node}`, mountArgs: [...tier, ...coordinator] };
}

/** Straight from the daemon's control socket (never through the FUSE mount: the harness does no file I/O on a mount). */
async function sharedTierStats(mountPoint: string): Promise<SharedTierFigures | undefined> {
  const t = ((await controlRequest(mountPoint, 'stats')) as StatsSnapshot).sharedTier;
  if (t === undefined) return undefined;
  return { hits: t.hits, misses: t.misses, writes: t.writes, writesDropped: t.writesDropped, leaseWaits: t.leaseWaits, leaseWaitHits: t.leaseWaitHits, writesQueued: t.writesQueued };
}

/** The whole-object copies' budget of the passthrough variant: room for any shard a run reads. */
const PASSTHROUGH_SIZE = '16GiB';
/** How long a warm run waits for the copy of what the cold run read. */
const SETTLE_MAX_MS = 60_000;

export const s3cachefsSystem: BenchSystem = {
  name: 's3cachefs',
  label: 's3cachefs',
  role: 'candidate',
  measureEveryEpoch: true,
  writeVariants: WRITE_VARIANTS,
  nodeVariant,
  async openCold(ds: DatasetLocation, ctx: SystemContext, variant?: MountVariant): Promise<OpenView> {
    ctx.cleanup.throwIfAborted();
    const cli = join(ctx.repoRoot, 'dist', 'cli.js');
    if (!existsSync(cli)) throw new Error(`${cli} is missing: the s3cachefs mount command is not built yet`);
    const n = ++mountCounter;
    const mountPoint = join(ctx.workDir, `mnt-s3cachefs-${ds.kind}-${n}`);
    const cacheDir = join(ctx.workDir, `s3cachefs-cache-${ds.kind}-${n}`);
    await rm(cacheDir, { recursive: true, force: true });
    await mkdir(cacheDir, { recursive: true });
    await mkdir(mountPoint, { recursive: true });
    await mkdir(ctx.logDir, { recursive: true });
    const source = `s3://${ds.bucket}${ds.prefix === '' ? '' : `/${ds.prefix.replace(/\/$/, '')}`}`;
    const args = [cli, 'mount', source, mountPoint, '--endpoint-url', ctx.link.endpoint, '--cache-dir', cacheDir, '--cache-size', CACHE_SIZE, '--log-level', 'warn', '--log-file', join(ctx.logDir, `s3cachefs-${ds.kind}-${n}.log`), ...ctx.s3cachefsArgs, ...(variant?.mountArgs ?? [])];
    let pid: number | undefined;
    const ownUnmount = async (): Promise<void> => {
      await execFileAsync(process.execPath, [cli, 'unmount', mountPoint], { env: cliEnv(), timeout: 30_000 });
    };
    const release = ctx.cleanup.add(`unmount ${mountPoint}`, async () => {
      await unmount(mountPoint, pid, ownUnmount);
      await discardLater(cacheDir, ctx.workDir);
    });
    try {
      const out = await execFileAsync(process.execPath, args, { env: cliEnv(), timeout: 120_000 });
      if (out.stderr.trim() !== '') process.stderr.write(`s3cachefs mount: ${out.stderr.trim()}\n`);
      await waitForMount(mountPoint, () => true);
    } catch (err) {
      await release();
      const e = err as { message: string; stderr?: string };
      throw new Error(`s3cachefs mount failed: ${firstErrorLine(e.stderr?.trim() || e.message)}`);
    }
    pid = daemonPid(mountPoint, 'node');
    const flush = async (timeoutMs: number): Promise<void> => {
      try {
        await execFileAsync(process.execPath, [cli, 'flush', mountPoint, '--quiet'], { env: cliEnv(), timeout: timeoutMs });
      } catch (err) {
        const e = err as { message: string; stderr?: string };
        throw new Error(`s3cachefs flush failed: ${(e.stderr?.trim() || e.message).split('\n')[0]}`);
      }
    };
    return { view: { kind: 'fs', root: mountPoint, daemonPid: pid }, flush, sharedTierStats: () => sharedTierStats(mountPoint), close: release };
  },
};

/**
 * s3cachefs with `--passthrough` (the kernel reads whole-object copies of large cached files
 * itself; Linux >= 6.9, as root): only the shard workload, the one it changes (an epoch of
 * small files gets no copies). Its warm shard runs are measured against local disk and the
 * FUSE ceiling like s3cachefs's own.
 */
export const s3cachefsPassthroughSystem: BenchSystem = {
  name: 's3cachefs-pt',
  label: 's3cachefs --passthrough',
  role: 'candidate',
  measureEveryEpoch: true,
  workloads: ['shard'],
  notes: () => [
    ...(notGranted
      ? ['s3cachefs --passthrough: the kernel did not grant FUSE passthrough here (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH, as root), so it ran as plain s3cachefs.']
      : []),
    ...(settleWaits.length === 0 || notGranted
      ? []
      : [`s3cachefs --passthrough: each warm shard run started once the daemon had made its whole-object copy of the shard (stats: passthrough.copies); waited ${settleWaits.map((s) => s.toFixed(1)).join(', ')} s after the cold runs (the copy is made once per object version and cache).`]),
  ],
  async openCold(ds, ctx, variant) {
    const opened = await s3cachefsSystem.openCold(ds, ctx, { name: 's3cachefs-pt', label: 's3cachefs --passthrough', mountArgs: ['--passthrough', PASSTHROUGH_SIZE, ...(variant?.mountArgs ?? [])] });
    if (opened.view.kind !== 'fs') return opened;
    const mountPoint = opened.view.root;
    return { ...opened, settle: () => settleCopies(mountPoint) };
  },
};

const settleWaits: number[] = [];
let notGranted = false;

/** Until the daemon has a whole-object copy and none pending (at most SETTLE_MAX_MS); the seconds waited. */
async function settleCopies(mountPoint: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < SETTLE_MAX_MS) {
    const pt = ((await controlRequest(mountPoint, 'stats')) as StatsSnapshot).passthrough;
    // No copies to wait for where the kernel does not take them (older kernel, not root).
    if (pt !== undefined && pt.kernel?.granted !== true) notGranted = true;
    if (pt === undefined || pt.kernel?.granted !== true || (pt.copies.files > 0 && pt.copies.pending === 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const waited = (performance.now() - t0) / 1000;
  settleWaits.push(waited);
  return waited;
}
