// What the benchmark's datasets contain, computed from parameters alone: the
// image tree (class folders of JPEGs with ImageNet-like sizes), the large
// shard and the metadata tree of tiny objects. Plans are pure and cheap (a
// 1.28 M-file plan is a few hundred ms), so nothing needs a manifest file:
// the generator, the uploader and the workloads all replay the same plan.
import { Prng } from './prng.js';
import { drawSize, IMAGENET_SIZES, type SizeDistribution } from './size-distribution.js';

export interface DatasetParams {
  readonly seed: number;
  readonly imageFiles: number;
  readonly shardBytes: number;
  readonly metadataObjects: number;
}

export interface PlannedFile {
  /** Path relative to the dataset root, with `/` separators. */
  readonly path: string;
  readonly bytes: number;
  /** Which base image a JPEG is grown from. */
  readonly base: number;
}

export interface ImagePlan {
  /** Bucket the tree lives in; the tree is under `prefix`. */
  readonly bucket: string;
  readonly prefix: string;
  readonly classes: readonly string[];
  readonly files: readonly PlannedFile[];
  readonly totalBytes: number;
}

/** ImageNet has 1,000 classes; small runs keep ~50 files per class so folders stay realistic. */
const MAX_CLASSES = 1000;
const MIN_FILES_PER_CLASS = 50;
/** Files per folder in the metadata tree: 100k objects become 1,000 folders. */
const METADATA_FILES_PER_DIR = 100;

function imageDatasetName(p: DatasetParams): string {
  return `bench-img-s${p.seed}-n${p.imageFiles}`;
}

export function planImages(p: DatasetParams, baseCount: number, dist: SizeDistribution = IMAGENET_SIZES): ImagePlan {
  const classCount = Math.max(1, Math.min(MAX_CLASSES, Math.ceil(p.imageFiles / MIN_FILES_PER_CLASS)));
  // WordNet-style ids (n01440764) keep names the shape a real ImageFolder sees.
  const classes = Array.from({ length: classCount }, (_, i) => `n${String(1_000_000 + i * 7919).padStart(8, '0')}`);
  const rng = new Prng(`${p.seed}:image-sizes`);
  const files: PlannedFile[] = [];
  let totalBytes = 0;
  for (let i = 0; i < p.imageFiles; i++) {
    const cls = classes[i % classCount] as string;
    const bytes = drawSize(rng, dist);
    files.push({ path: `${cls}/${cls}_${i}.JPEG`, bytes, base: rng.int(baseCount) });
    totalBytes += bytes;
  }
  return { bucket: imageDatasetName(p), prefix: 'train/', classes, files, totalBytes };
}

export interface ShardPlan {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
}

export function planShard(p: DatasetParams): ShardPlan {
  const mib = Math.round(p.shardBytes / 1048576);
  return { bucket: `bench-shard-s${p.seed}-${mib}m`, key: 'shard-000000.bin', bytes: p.shardBytes };
}

export interface MetadataPlan {
  readonly bucket: string;
  readonly files: readonly PlannedFile[];
  readonly dirs: number;
}

/** Tiny objects (16-271 bytes) in folders of 100: listing cost dominates, as with real metadata trees. */
export function planMetadata(p: DatasetParams): MetadataPlan {
  const rng = new Prng(`${p.seed}:metadata`);
  const files: PlannedFile[] = [];
  for (let i = 0; i < p.metadataObjects; i++) {
    const dir = `d${String(Math.floor(i / METADATA_FILES_PER_DIR)).padStart(5, '0')}`;
    files.push({ path: `${dir}/f${String(i % METADATA_FILES_PER_DIR).padStart(3, '0')}.txt`, bytes: 16 + rng.int(256), base: 0 });
  }
  return { bucket: `bench-meta-s${p.seed}-n${p.metadataObjects}`, files, dirs: Math.ceil(p.metadataObjects / METADATA_FILES_PER_DIR) };
}
