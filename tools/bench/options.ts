// Command-line flags of `npm run bench`, validated once into a frozen
// options object. Every error is one line naming the flag and the rule.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ALL_SYSTEMS } from './systems/registry.js';

export const WORKLOADS = ['loader', 'shard', 'metadata', 'writes', 'torch', 'nodes', 'prefetch', 'calibration'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** Where the datasets live: the local S3 server (s3rver, ~2 ms of CPU per GET) or the synthetic store (~0.1 ms). */
const STORES = ['s3rver', 'synthetic'] as const;
export type Store = (typeof STORES)[number];
/** What the synthetic store cannot serve (read-only, images only): skipped there. */
const SYNTHETIC_SKIPS: readonly Workload[] = ['shard', 'metadata', 'writes', 'nodes'];

export interface BenchOptions {
  readonly quick: boolean;
  readonly store: Store;
  readonly files: number;
  readonly workers: number;
  readonly batch: number;
  readonly epochs: number;
  readonly stepSeconds: number;
  readonly ttfbMs: number;
  /** Per-connection cap, MB/s with MB = 10^6 bytes. */
  readonly megabytesPerSecond: number;
  readonly systems: readonly string[];
  readonly skip: readonly Workload[];
  readonly out: string | undefined;
  readonly seed: number;
  readonly shardBytes: number;
  readonly metadataObjects: number;
  /** The checkpoint file the writes workload writes, bytes. */
  readonly checkpointBytes: number;
  /** Small files the writes workload copies (100 KB each). */
  readonly smallFiles: number;
  readonly cacheDir: string;
  readonly s3cachefsArgs: readonly string[];
  readonly phaseTimeoutSeconds: number;
  readonly help: boolean;
}

/**
 * Quick: fitted 5 minutes on 2 cores with the first four systems. s3fs-fuse
 * is the long pole (~45-100 images/s and ~300 entries/s cold here), so 5,000
 * images and 10,000 metadata objects took 7 minutes on their own; 2,000 and
 * 5,000 fit. The writes workload's quick sizes keep each system's writes
 * under a minute at 80 MB/s per connection.
 * Full: the sizes the targets are stated for (a 1 GiB checkpoint, 1,000 small files).
 */
const QUICK = { files: 2_000, shardBytes: 256 << 20, metadataObjects: 5_000, checkpointBytes: 256 << 20, smallFiles: 300 };
const FULL = { files: 20_000, shardBytes: 1 << 30, metadataObjects: 100_000, checkpointBytes: 1 << 30, smallFiles: 1_000 };
/** ImageNet-1k's training set. */
const MAX_FILES = 1_281_167;

export class OptionsError extends Error {
  readonly code = 'BENCH_BAD_OPTION';
}

export const USAGE = `usage: npm run bench -- [options]
  --quick                 small datasets (${QUICK.files} images, ${QUICK.shardBytes >> 20} MiB shard, ${QUICK.metadataObjects} metadata objects,
                          ${QUICK.checkpointBytes >> 20} MiB checkpoint, ${QUICK.smallFiles} small files)
  --files N               images in the dataset (default ${FULL.files}, quick ${QUICK.files}, max ${MAX_FILES})
  --workers P             loader processes (default 8)
  --batch B               images per batch (default 256)
  --epochs E              epochs per system (default 3)
  --step S                fake training step per batch, seconds (default 0; 0.5 = published setting)
  --ttfb-ms MS            time to first byte added per request by the emulated link (default 20)
  --mbps MBPS             per-connection bandwidth cap, MB/s (default 80)
  --systems LIST          comma-separated from: ${ALL_SYSTEMS.map((s) => s.name).join(',')} (default all)
  --skip LIST             comma-separated from: ${WORKLOADS.join(',')}
  --store NAME            s3rver (default: the local S3 server) or synthetic (generated JPEGs, ~0.1 ms of
                          server CPU per GET; images only: skips ${SYNTHETIC_SKIPS.join(', ')})
  --out DIR               results folder (default bench/results/<timestamp>)
  --seed N                dataset and shuffle seed (default 1)
  --shard-mib N           size of the large shard, MiB (default ${FULL.shardBytes >> 20}, quick ${QUICK.shardBytes >> 20})
  --metadata-objects N    objects in the metadata tree (default ${FULL.metadataObjects}, quick ${QUICK.metadataObjects})
  --checkpoint-mib N      checkpoint file the writes workload writes, MiB (default ${FULL.checkpointBytes >> 20}, quick ${QUICK.checkpointBytes >> 20})
  --small-files N         100 KB files the writes workload copies (default ${FULL.smallFiles}, quick ${QUICK.smallFiles})
  --cache-dir DIR         where generated data and the S3 server's directory are kept (default bench/cache)
  --s3cachefs-args="..."  extra arguments for 's3cachefs mount', space-separated (attach with '=')
  --phase-timeout S       upper bound for one epoch/read/find/write test, seconds (default 1800)
  --scale                 the scale benchmark on the synthetic store instead (see --scale --help)`;

/** A numeric flag: `def` when absent; an integer may have digit separators (`1,000`, `1_000`); one line naming the flag and the rule otherwise. */
export function numberOption(flag: string, raw: string | undefined, def: number, min: number, max: number, integer = true): number {
  if (raw === undefined) return def;
  const v = Number(integer ? raw.replaceAll(',', '').replaceAll('_', '') : raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new OptionsError(`--${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got '${raw}')`);
  }
  return v;
}

function list<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], def: readonly T[]): T[] {
  if (raw === undefined) return [...def];
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new OptionsError(`--${flag}: unknown '${item}' (choose from ${allowed.join(', ')})`);
  }
  if (items.length === 0 && flag === 'systems') throw new OptionsError('--systems: name at least one system');
  return items as T[];
}

/** Strict flags with values (no positionals); a parse error becomes one OptionsError line. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>({ args: [...argv], strict: true, allowPositionals: false, options });
  } catch (err) {
    throw new OptionsError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const v = parseFlags(argv, {
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    files: { type: 'string' },
    workers: { type: 'string' },
    batch: { type: 'string' },
    epochs: { type: 'string' },
    step: { type: 'string' },
    'ttfb-ms': { type: 'string' },
    mbps: { type: 'string' },
    systems: { type: 'string' },
    skip: { type: 'string' },
    store: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    'shard-mib': { type: 'string' },
    'metadata-objects': { type: 'string' },
    'checkpoint-mib': { type: 'string' },
    'small-files': { type: 'string' },
    'cache-dir': { type: 'string' },
    's3cachefs-args': { type: 'string' },
    'phase-timeout': { type: 'string' },
  }).values;
  const quick = v.quick === true;
  const sizes = quick ? QUICK : FULL;
  const systemNames = ALL_SYSTEMS.map((s) => s.name);
  const store = list('store', v.store, STORES, ['s3rver']);
  if (store.length !== 1) throw new OptionsError(`--store: name one of ${STORES.join(', ')}`);
  const skip = list('skip', v.skip, WORKLOADS, []);
  if (store[0] === 'synthetic') skip.push(...SYNTHETIC_SKIPS.filter((w) => !skip.includes(w)));
  return Object.freeze({
    quick,
    store: store[0] as Store,
    help: v.help === true,
    files: numberOption('files', v.files, sizes.files, 1, MAX_FILES, true),
    workers: numberOption('workers', v.workers, 8, 1, 256, true),
    batch: numberOption('batch', v.batch, 256, 1, 100_000, true),
    epochs: numberOption('epochs', v.epochs, 3, 1, 100, true),
    stepSeconds: numberOption('step', v.step, 0, 0, 60, false),
    ttfbMs: numberOption('ttfb-ms', v['ttfb-ms'], 20, 0, 10_000, false),
    megabytesPerSecond: numberOption('mbps', v.mbps, 80, 0.1, 100_000, false),
    systems: list('systems', v.systems, systemNames, systemNames),
    skip,
    out: v.out,
    seed: numberOption('seed', v.seed, 1, 0, 2 ** 31, true),
    shardBytes: numberOption('shard-mib', v['shard-mib'], sizes.shardBytes >> 20, 1, 1 << 20, true) * 1048576,
    metadataObjects: numberOption('metadata-objects', v['metadata-objects'], sizes.metadataObjects, 1, 10_000_000, true),
    checkpointBytes: numberOption('checkpoint-mib', v['checkpoint-mib'], sizes.checkpointBytes >> 20, 1, 1 << 20, true) * 1048576,
    smallFiles: numberOption('small-files', v['small-files'], sizes.smallFiles, 1, 1_000_000, true),
    cacheDir: v['cache-dir'] ?? 'bench/cache',
    s3cachefsArgs: (v['s3cachefs-args'] ?? '').split(/\s+/).filter((s) => s !== ''),
    phaseTimeoutSeconds: numberOption('phase-timeout', v['phase-timeout'], 1800, 10, 86_400, false),
  });
}
