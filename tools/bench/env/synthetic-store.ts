// The benchmark's second store (`--store synthetic`): the synthetic S3 server
// (tools/local-s3/synthetic-s3-server.ts, ~70-150 µs of CPU per GET) serving the
// image dataset as decodable JPEGs (SyntheticJpegNamespace), in a child process
// whose CPU the harness charges to each workload. s3rver spends ~2 ms of CPU per
// GET, which on 2 cores caps the direct-GET limit near 250 images/s; this store
// lets the loader and PyTorch workloads measure the systems, not the server.
// Read-only and generated: the shard, metadata, writes and nodes workloads have
// nothing to read or write here and are skipped by the caller. The local copy
// (for local disk and the FUSE ceiling) is written once per parameter set.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBaseImages } from '../dataset/jpeg-synth.js';
import type { PreparedDatasets } from '../dataset/prepare.js';
import { SyntheticJpegNamespace } from '../../local-s3/synthetic-jpeg-namespace.js';
import { killAndWait, spawnReady } from '../../local-s3/spawn-ready.js';
import type { RunningS3Server } from './s3-server.js';

const SYNTHETIC_BUCKET = 'synthetic-images';
/** ImageNet's mean JPEG is ~110 KB: sizes uniform in [60, 160] KB have that mean. */
const MIN_BYTES = 60_000;
const MAX_BYTES = 160_000;
/** ~50 files per class directory in small runs, as the s3rver dataset (dataset-plan.ts); ImageNet's 1,300 at most. */
const PER_DIRECTORY_MIN = 50;
const PER_DIRECTORY_MAX = 1_300;
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'local-s3', 'synthetic-s3-server-main.js');

export interface SyntheticStoreParams {
  readonly seed: number;
  readonly imageFiles: number;
  /** Write the files to local disk too (local disk and FUSE-ceiling systems read them). */
  readonly localCopy: boolean;
}

function shapeOf(p: SyntheticStoreParams) {
  const perDirectory = Math.min(PER_DIRECTORY_MAX, Math.max(PER_DIRECTORY_MIN, Math.ceil(p.imageFiles / 1000)));
  return { objects: p.imageFiles, perDirectory, prefix: 'train/', minBytes: MIN_BYTES, maxBytes: MAX_BYTES, seed: p.seed };
}

/** Starts the server process; resolves once it prints its ready line. */
export async function startSyntheticStore(p: SyntheticStoreParams): Promise<RunningS3Server> {
  const s = shapeOf(p);
  const args = ['--jpeg', '--bucket', SYNTHETIC_BUCKET, '--objects', String(s.objects), '--per-directory', String(s.perDirectory),
    '--prefix', s.prefix, '--min-bytes', String(s.minBytes), '--max-bytes', String(s.maxBytes), '--seed', String(s.seed)];
  const { child, ready } = await spawnReady(MAIN, args, { silent: false });
  return { endpoint: ready.endpoint, port: ready.port, directory: '(generated, nothing on disk)', flavour: 'synthetic', pid: child.pid, stop: () => killAndWait(child) };
}

/** The image dataset as the systems see it on the synthetic store; the other datasets are absent (their workloads are skipped). */
export async function syntheticDatasets(p: SyntheticStoreParams, cacheDir: string, log: (line: string) => void): Promise<PreparedDatasets> {
  const s = shapeOf(p);
  const ns = new SyntheticJpegNamespace(s, makeBaseImages(s.seed));
  const keys = Array.from({ length: s.objects }, (_, i) => ns.key(i));
  const localDir = join(cacheDir, 'datasets', `synthetic-jpeg-${s.objects}-${s.seed}`);
  if (p.localCopy) await writeLocalCopy(ns, localDir, log);
  let bytes = 0;
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < s.objects; i++) {
    const n = ns.size(i);
    bytes += n;
    min = Math.min(min, n);
    max = Math.max(max, n);
  }
  const none = { kind: 'shard', bucket: SYNTHETIC_BUCKET, prefix: 'absent/', localDir: join(localDir, 'absent') } as const;
  return {
    images: { kind: 'images', bucket: SYNTHETIC_BUCKET, prefix: s.prefix, localDir: join(localDir, 'train') },
    imageKeys: keys,
    shard: none,
    shardKey: 'absent',
    shardRandom: { offsets: [], readBytes: 0 },
    metadata: { ...none, kind: 'metadata' },
    // No tiny or large object here: both probes use the first image (~110 KB), so the MB/s per connection is approximate.
    calibration: { bucket: SYNTHETIC_BUCKET, tinyKey: keys[0] ?? '', blobKey: keys[0] ?? '' },
    summary: {
      seed: s.seed, imageFiles: s.objects, imageClasses: Math.ceil(s.objects / s.perDirectory), imageBytes: bytes,
      imageMeanBytes: bytes / Math.max(1, s.objects), imageMinBytes: min, imageMaxBytes: max,
      shardBytes: 0, metadataObjects: 0, metadataDirs: 0,
    },
  };
}

async function writeLocalCopy(ns: SyntheticJpegNamespace, dir: string, log: (line: string) => void): Promise<void> {
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return;
  const t0 = performance.now();
  for (let i = 0; i < ns.objects; i++) {
    const file = join(dir, ns.key(i));
    if (i % ns.perDirectory === 0) await mkdir(dirname(file), { recursive: true });
    await writeFile(file, ns.body(i));
  }
  await writeFile(marker, '');
  log(`wrote the synthetic store's ${ns.objects} JPEGs to local disk in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
