// Writes the planned datasets to local disk under the benchmark cache
// (bench/cache/datasets/<bucket>/), once per parameter set. The local copy is
// both the source of the upload and the "local disk" system's data. A marker
// written last makes an interrupted generation start over instead of leaving
// a silently short dataset behind.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import type { ImagePlan, MetadataPlan, ShardPlan } from './dataset-plan.js';
import { padJpeg } from './jpeg-synth.js';
import { seededBytes } from './prng.js';
import { forEachLimit } from '../../../src/util/for-each-limit.js';

/** Parallel file writes: enough to keep a disk busy, few enough to bound open files. */
const WRITE_CONCURRENCY = 16;
/** The shard is generated in pieces of this size so memory stays bounded for multi-GiB shards. */
const SHARD_PIECE_BYTES = 8 * 1048576;

/** Markers live beside the trees, never inside them, so no listing of a tree ever sees one. */
function markerPath(dir: string): string {
  return `${dir.replace(/\/+$/, '')}.generated.json`;
}

async function isMarked(dir: string, expect: unknown): Promise<boolean> {
  try {
    return (await readFile(markerPath(dir), 'utf8')) === JSON.stringify(expect);
  } catch {
    return false;
  }
}

/** Runs `write` into a fresh `dir` unless a matching marker says it was done before. Returns true when it generated. */
export async function generateOnce(dir: string, marker: unknown, write: () => Promise<void>): Promise<boolean> {
  if (await isMarked(dir, marker)) return false;
  await rm(markerPath(dir), { force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await write();
  await writeFile(markerPath(dir), JSON.stringify(marker));
  return true;
}

export function imageRoot(cacheDir: string, plan: ImagePlan): string {
  return join(cacheDir, 'datasets', plan.bucket, plan.prefix);
}

export async function generateImages(cacheDir: string, plan: ImagePlan, seed: number, bases: readonly Buffer[]): Promise<boolean> {
  const root = imageRoot(cacheDir, plan);
  return generateOnce(root, { files: plan.files.length, totalBytes: plan.totalBytes, seed }, async () => {
    for (const cls of plan.classes) await mkdir(join(root, cls), { recursive: true });
    await forEachLimit(plan.files, WRITE_CONCURRENCY, async (f) => {
      const base = bases[f.base];
      if (base === undefined) throw new Error(`no base image ${f.base}`);
      await writeFile(join(root, f.path), padJpeg(base, f.bytes, seed, f.path));
    });
  });
}

export function shardPath(cacheDir: string, plan: ShardPlan): string {
  return join(cacheDir, 'datasets', plan.bucket, plan.key);
}

export async function generateShard(cacheDir: string, plan: ShardPlan, seed: number): Promise<boolean> {
  const path = shardPath(cacheDir, plan);
  return generateOnce(dirname(path), { bytes: plan.bytes, seed, key: plan.key }, async () => {
    const out = createWriteStream(path);
    for (let off = 0, piece = 0; off < plan.bytes; off += SHARD_PIECE_BYTES, piece++) {
      const chunk = seededBytes(seed, `shard:${piece}`, Math.min(SHARD_PIECE_BYTES, plan.bytes - off));
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  });
}

export function metadataRoot(cacheDir: string, plan: MetadataPlan): string {
  return join(cacheDir, 'datasets', plan.bucket, 'tree');
}

function metadataContent(seed: number, path: string, bytes: number): Buffer {
  // Printable so `cat` of a metadata file behaves like the small text/JSON sidecars it stands for.
  return Buffer.from(seededBytes(seed, path, bytes).toString('base64').slice(0, bytes - 1) + '\n');
}

export async function generateMetadata(cacheDir: string, plan: MetadataPlan, seed: number): Promise<boolean> {
  const root = metadataRoot(cacheDir, plan);
  return generateOnce(root, { files: plan.files.length, seed }, async () => {
    for (let d = 0; d < plan.dirs; d++) await mkdir(join(root, `d${String(d).padStart(5, '0')}`), { recursive: true });
    await forEachLimit(plan.files, WRITE_CONCURRENCY, (f) => writeFile(join(root, f.path), metadataContent(seed, f.path, f.bytes)));
  });
}

/** Objects the link calibration reads: one tiny (latency) and one 32 MiB (bandwidth), kept outside the image prefix. */
export const CALIBRATION_FILES = [
  { path: 'calib/tiny.txt', bytes: 100 },
  { path: 'calib/blob-32m.bin', bytes: 32 << 20 },
] as const;

export async function generateCalibration(cacheDir: string, bucket: string, seed: number): Promise<void> {
  const dir = join(cacheDir, 'datasets', bucket);
  await generateOnce(join(dir, 'calib'), { seed, files: CALIBRATION_FILES.length }, async () => {
    for (const f of CALIBRATION_FILES) await writeFile(join(dir, f.path), seededBytes(seed, f.path, f.bytes));
  });
}
