// Makes the benchmark's datasets exist, locally and in the S3 server, doing
// the expensive parts once per parameter set: plan -> generate local files
// (skipped when a marker matches) -> upload (skipped when the server already
// holds them). Returns where each dataset lives for the systems to mount,
// and the writes workload's local inputs.
import { join } from 'node:path';
import type { DatasetSummary } from '../results.js';
import type { DatasetLocation } from '../systems/system.js';
import { planImages, planMetadata, planShard, type DatasetParams } from './dataset-plan.js';
import { CALIBRATION_FILES, generateCalibration, generateImages, generateMetadata, generateShard, imageRoot, metadataRoot, shardPath } from './generate.js';
import { DEFAULT_BASE_IMAGE_COUNT, makeBaseImages } from './jpeg-synth.js';
import { randomReadOffsets, type RandomReadPlan } from './random-offsets.js';
import { uploadOnce, type UploadItem } from './upload.js';
import { prepareWriteSources, type WriteParams, type WriteSources } from './write-sources.js';

export interface PreparedDatasets {
  readonly images: DatasetLocation;
  readonly imageKeys: readonly string[];
  readonly shard: DatasetLocation;
  readonly shardKey: string;
  /** The shard workload's random reads: the same seeded offsets for every system. */
  readonly shardRandom: RandomReadPlan;
  readonly metadata: DatasetLocation;
  readonly calibration: { readonly bucket: string; readonly tinyKey: string; readonly blobKey: string };
  /** Absent when the writes workload is skipped. */
  readonly writes?: WriteSources;
  readonly summary: DatasetSummary;
}

export interface PrepareWants {
  readonly shard: boolean;
  readonly metadata: boolean;
  /** The writes workload's sizes, or undefined when it is skipped. */
  readonly writes: WriteParams | undefined;
}

export async function prepareDatasets(
  params: DatasetParams,
  cacheDir: string,
  serverEndpoint: string,
  wants: PrepareWants,
  log: (line: string) => void,
): Promise<PreparedDatasets> {
  const bases = makeBaseImages(params.seed, DEFAULT_BASE_IMAGE_COUNT);
  const images = planImages(params, bases.length);
  const shard = planShard(params);
  const shardRandom = randomReadOffsets(shard.bytes, params.seed);
  const meta = planMetadata(params);
  const datasetsDir = join(cacheDir, 'datasets');

  const t0 = performance.now();
  if (await generateImages(cacheDir, images, params.seed, bases)) log(`generated ${images.files.length} JPEGs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await generateCalibration(cacheDir, images.bucket, params.seed);
  if (wants.shard && (await generateShard(cacheDir, shard, params.seed))) log(`generated the ${shard.bytes >> 20} MiB shard`);
  if (wants.metadata && (await generateMetadata(cacheDir, meta, params.seed))) log(`generated ${meta.files.length} metadata objects`);

  const target = (bucket: string) => ({ endpoint: serverEndpoint, bucket });
  const imageItems: UploadItem[] = [
    ...CALIBRATION_FILES.map((f) => ({ key: f.path, file: join(datasetsDir, images.bucket, f.path), bytes: f.bytes })),
    ...images.files.map((f) => ({ key: images.prefix + f.path, file: join(imageRoot(cacheDir, images), f.path), bytes: f.bytes })),
  ];
  const progress = (what: string) => (done: number) => log(`  uploaded ${done} ${what}`);
  const t1 = performance.now();
  if (await uploadOnce(cacheDir, target(images.bucket), imageItems, progress('images'))) log(`uploaded ${imageItems.length} image objects in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  if (wants.shard && (await uploadOnce(cacheDir, target(shard.bucket), [{ key: shard.key, file: shardPath(cacheDir, shard), bytes: shard.bytes }]))) log('uploaded the shard');
  const writes = wants.writes === undefined ? undefined : await prepareWriteSources(cacheDir, params.seed, wants.writes, serverEndpoint);
  if (writes?.generated) log(`generated the writes workload's ${writes.sources.checkpointBytes >> 20} MiB checkpoint and ${writes.sources.smallFiles} small files`);
  const metaItems = meta.files.map((f) => ({ key: f.path, file: join(metadataRoot(cacheDir, meta), f.path), bytes: f.bytes }));
  const t2 = performance.now();
  if (wants.metadata && (await uploadOnce(cacheDir, target(meta.bucket), metaItems, progress('metadata objects')))) log(`uploaded ${metaItems.length} metadata objects in ${((performance.now() - t2) / 1000).toFixed(1)} s`);

  // reduce, not Math.min(...): a 1.28 M-element spread overflows the call stack.
  const minBytes = images.files.reduce((m, f) => Math.min(m, f.bytes), Infinity);
  const maxBytes = images.files.reduce((m, f) => Math.max(m, f.bytes), 0);
  return {
    images: { kind: 'images', bucket: images.bucket, prefix: images.prefix, localDir: imageRoot(cacheDir, images) },
    imageKeys: images.files.map((f) => images.prefix + f.path),
    shard: { kind: 'shard', bucket: shard.bucket, prefix: '', localDir: join(datasetsDir, shard.bucket) },
    shardKey: shard.key,
    shardRandom,
    metadata: { kind: 'metadata', bucket: meta.bucket, prefix: '', localDir: metadataRoot(cacheDir, meta) },
    calibration: { bucket: images.bucket, tinyKey: CALIBRATION_FILES[0].path, blobKey: CALIBRATION_FILES[1].path },
    ...(writes === undefined ? {} : { writes: writes.sources }),
    summary: {
      seed: params.seed,
      imageFiles: images.files.length,
      imageClasses: images.classes.length,
      imageBytes: images.totalBytes,
      imageMeanBytes: images.totalBytes / Math.max(1, images.files.length),
      imageMinBytes: minBytes,
      imageMaxBytes: maxBytes,
      shardBytes: shard.bytes,
      shardRandomReads: shardRandom.offsets.length,
      shardRandomReadBytes: shardRandom.readBytes,
      metadataObjects: meta.files.length,
      metadataDirs: meta.dirs,
      ...(writes === undefined
        ? {}
        : { writeCheckpointBytes: writes.sources.checkpointBytes, writeSmallFiles: writes.sources.smallFiles, writeSmallFileBytes: writes.sources.smallFileBytes }),
    },
  };
}
