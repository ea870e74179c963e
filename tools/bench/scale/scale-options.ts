// Flags of `npm run bench -- --scale`: the scale benchmark of issue 14 on the synthetic
// store (tools/local-s3/synthetic-s3-server.ts). Validated once into a frozen object; every
// error is one line naming the flag and the rule.
import { numberOption, OptionsError, parseFlags } from '../options.js';

export const SCALE_SYSTEMS = ['s3cachefs', 's3fs', 'rclone'] as const;
export type ScaleSystem = (typeof SCALE_SYSTEMS)[number];

export interface ScaleOptions {
  /** Objects in the synthetic namespace. */
  readonly objects: number;
  readonly perDirectory: number;
  /** Object sizes, uniform in [min, max] bytes (1–4 KB: a metadata-only run). */
  readonly minBytes: number;
  readonly maxBytes: number;
  /** Reader processes of each epoch. */
  readonly readers: number;
  /** Files each epoch reads: every k-th of the listing, so a sample spans every directory (0: all). */
  readonly epochFiles: number;
  readonly systems: readonly ScaleSystem[];
  /** Bound on each timed phase of each system, seconds: a peer past it is reported as not finished. */
  readonly timeLimitSeconds: number;
  /** The same bound for the peers (s3fs-fuse, rclone), seconds: by default the time limit. */
  readonly peerTimeLimitSeconds: number;
  /** Latency the synthetic store adds to every request, ms. */
  readonly latencyMs: number;
  readonly out: string | undefined;
  readonly s3cachefsArgs: readonly string[];
  readonly help: boolean;
}

/** The key prefix of the synthetic namespace's objects (the mount's top directory). */
export const SCALE_PREFIX = 'train/';

/** ImageNet-1k's training set. */
export const SCALE_DEFAULT_OBJECTS = 1_281_167;

export const SCALE_USAGE = `usage: npm run bench -- --scale [options]
  --objects N             objects in the synthetic namespace (default ${SCALE_DEFAULT_OBJECTS}, 1,000 to 10,000,000)
  --per-directory N       objects per directory (default 1300, as ImageNet's classes)
  --min-bytes N           smallest object, bytes (default 1024)
  --max-bytes N           largest object, bytes (default 4096)
  --readers P             reader processes per epoch (default 16)
  --epoch-files N         epochs read N files spread over the whole listing, not all (default: all);
                          find, the listing and the remount still cover every object
  --systems LIST          comma-separated from: ${SCALE_SYSTEMS.join(',')} (default all)
  --time-limit S          bound on each phase of each system, seconds (default 900); a phase cut
                          at it reports how many files it had done
  --peer-time-limit S     the same bound for s3fs-fuse and rclone only (default: --time-limit)
  --latency-ms MS         latency the synthetic store adds per request (default 0)
  --out DIR               results folder (default bench/results/scale-<timestamp>)
  --s3cachefs-args="..."  extra arguments for 's3cachefs mount', space-separated`;

/** Parses the arguments that follow `--scale`. */
export function parseScaleOptions(argv: readonly string[]): ScaleOptions {
  const v = parseFlags(argv, {
    help: { type: 'boolean', short: 'h' },
    objects: { type: 'string' },
    'per-directory': { type: 'string' },
    'min-bytes': { type: 'string' },
    'max-bytes': { type: 'string' },
    readers: { type: 'string' },
    'epoch-files': { type: 'string' },
    systems: { type: 'string' },
    'time-limit': { type: 'string' },
    'peer-time-limit': { type: 'string' },
    'latency-ms': { type: 'string' },
    out: { type: 'string' },
    's3cachefs-args': { type: 'string' },
  }).values;
  const minBytes = numberOption('min-bytes', v['min-bytes'], 1024, 0, 1 << 30);
  const maxBytes = numberOption('max-bytes', v['max-bytes'], 4096, 0, 1 << 30);
  if (maxBytes < minBytes) throw new OptionsError(`--max-bytes (${maxBytes}) must be at least --min-bytes (${minBytes})`);
  const systems = (v.systems ?? SCALE_SYSTEMS.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of systems) {
    if (!SCALE_SYSTEMS.includes(s as ScaleSystem)) throw new OptionsError(`--systems: unknown '${s}' (choose from ${SCALE_SYSTEMS.join(', ')})`);
  }
  if (systems.length === 0) throw new OptionsError('--systems: name at least one system');
  const timeLimitSeconds = numberOption('time-limit', v['time-limit'], 900, 10, 86_400);
  return Object.freeze({
    help: v.help === true,
    objects: numberOption('objects', v.objects, SCALE_DEFAULT_OBJECTS, 1000, 10_000_000),
    perDirectory: numberOption('per-directory', v['per-directory'], 1300, 1, 1_000_000),
    minBytes,
    maxBytes,
    readers: numberOption('readers', v.readers, 16, 1, 256),
    epochFiles: numberOption('epoch-files', v['epoch-files'], 0, 0, 10_000_000),
    systems: systems as ScaleSystem[],
    timeLimitSeconds,
    peerTimeLimitSeconds: numberOption('peer-time-limit', v['peer-time-limit'], timeLimitSeconds, 10, 86_400),
    latencyMs: numberOption('latency-ms', v['latency-ms'], 0, 0, 10_000),
    out: v.out,
    s3cachefsArgs: (v['s3cachefs-args'] ?? '').split(/\s+/).filter((s) => s !== ''),
  });
}
