// The writes workload's inputs, generated once per parameter set on local
// disk under bench/cache/datasets/writes-s<seed>/: one checkpoint file of
// seeded random bytes (incompressible, like trained weights) and a folder of
// small files of 100 KB each. Writers copy them onto every mount. Also makes
// sure the (empty) bucket the writes go to exists at the server, and names
// the folder where the local-disk reference writes: on the same disk as
// bench/cache, so the reference is a disk, not a tmpfs.
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { generateOnce } from './generate.js';
import { seededBytes } from './prng.js';
import { createBucket } from './upload.js';
import { forEachLimit } from '../../../src/util/for-each-limit.js';

/** Every system writes under its own fresh prefix of this bucket. */
const WRITES_BUCKET = 'bench-writes';
/** "100 KB" files: KB = 1000 bytes, as the image sizes elsewhere in the benchmark. */
const SMALL_FILE_BYTES = 100_000;
/** The checkpoint's name inside the mount. */
export const CHECKPOINT_NAME = 'ckpt.bin';
/** The folder `cp -r` creates inside the mount. */
export const SMALL_DIR_NAME = 'small';
/** Generated in pieces so memory stays bounded for multi-GiB checkpoints. */
const PIECE_BYTES = 8 * 1048576;
const WRITE_CONCURRENCY = 16;

export interface WriteSources {
  readonly bucket: string;
  readonly checkpointFile: string;
  readonly checkpointBytes: number;
  /** Holds `smallFiles` files named by smallFileName(). */
  readonly smallDir: string;
  readonly smallFiles: number;
  readonly smallFileBytes: number;
  /** Where the local-disk reference writes. */
  readonly localScratch: string;
}

export interface WriteParams {
  readonly checkpointBytes: number;
  readonly smallFiles: number;
}

export function smallFileName(i: number): string {
  return `f${String(i).padStart(5, '0')}.bin`;
}

async function writeSeededFile(path: string, bytes: number, seed: number, label: string): Promise<void> {
  const out = createWriteStream(path);
  for (let off = 0, piece = 0; off < bytes; off += PIECE_BYTES, piece++) {
    if (!out.write(seededBytes(seed, `${label}:${piece}`, Math.min(PIECE_BYTES, bytes - off)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Generates what is missing; returns the sources and whether anything was generated. */
export async function prepareWriteSources(cacheDir: string, seed: number, p: WriteParams, serverEndpoint: string): Promise<{ sources: WriteSources; generated: boolean }> {
  const root = join(cacheDir, 'datasets', `writes-s${seed}`);
  const checkpointDir = join(root, `checkpoint-${Math.round(p.checkpointBytes / 1048576)}m`);
  const checkpointFile = join(checkpointDir, CHECKPOINT_NAME);
  const smallDir = join(root, `small-${p.smallFiles}`);
  const a = await generateOnce(checkpointDir, { bytes: p.checkpointBytes, seed }, () => writeSeededFile(checkpointFile, p.checkpointBytes, seed, 'checkpoint'));
  const b = await generateOnce(smallDir, { files: p.smallFiles, bytes: SMALL_FILE_BYTES, seed }, () =>
    forEachLimit(Array.from({ length: p.smallFiles }, (_, i) => i), WRITE_CONCURRENCY, (i) =>
      writeFile(join(smallDir, smallFileName(i)), seededBytes(seed, `small:${i}`, SMALL_FILE_BYTES)),
    ),
  );
  const agent = new http.Agent({ keepAlive: false });
  try {
    await createBucket({ endpoint: serverEndpoint, bucket: WRITES_BUCKET }, agent);
  } finally {
    agent.destroy();
  }
  const sources: WriteSources = {
    bucket: WRITES_BUCKET,
    checkpointFile,
    checkpointBytes: p.checkpointBytes,
    smallDir,
    smallFiles: p.smallFiles,
    smallFileBytes: SMALL_FILE_BYTES,
    localScratch: join(cacheDir, 'writes-local'),
  };
  return { sources, generated: a || b };
}
