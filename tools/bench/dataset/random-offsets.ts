// The shard workload's random reads: a fixed list of distinct, aligned
// offsets drawn from the seed, in a random order, covering a set fraction of
// the shard (e.g. 410 reads of 256 KiB out of a 1 GiB shard's 4,096 blocks).
// Every system reads exactly the same list, cold and warm, so the numbers
// compare; the four-thread variant splits it into contiguous quarters.
import { Prng } from './prng.js';

/** pread(2) size: a record or page of an indexed format (TFRecord with an index, LMDB, Parquet pages). */
export const RANDOM_READ_BYTES = 256 * 1024;
/** Share of the shard's aligned blocks that the list reads: enough reads to average over, far from a full scan. */
const RANDOM_READ_FRACTION = 0.1;

export interface RandomReadPlan {
  /** Byte offsets, each a multiple of `readBytes`, distinct, in reading order. */
  readonly offsets: readonly number[];
  readonly readBytes: number;
}

/** How many reads the plan makes: `fraction` of the shard's whole blocks, rounded, at least one. */
export function randomReadCount(shardBytes: number, readBytes = RANDOM_READ_BYTES, fraction = RANDOM_READ_FRACTION): number {
  const blocks = Math.floor(shardBytes / readBytes);
  return blocks === 0 ? 0 : Math.min(blocks, Math.max(1, Math.round(blocks * fraction)));
}

/**
 * `randomReadCount` distinct whole blocks of the shard, uniformly chosen and
 * uniformly ordered: a partial Fisher-Yates shuffle over the block indices,
 * kept in a sparse map so a terabyte shard costs no more than the reads drawn.
 */
export function randomReadOffsets(shardBytes: number, seed: string | number, readBytes = RANDOM_READ_BYTES, fraction = RANDOM_READ_FRACTION): RandomReadPlan {
  const blocks = Math.floor(shardBytes / readBytes);
  const count = randomReadCount(shardBytes, readBytes, fraction);
  const rng = new Prng(`${seed}:shard-random:${shardBytes}:${readBytes}`);
  const moved = new Map<number, number>();
  const at = (i: number): number => moved.get(i) ?? i;
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(blocks - i);
    const picked = at(j);
    moved.set(j, at(i));
    offsets.push(picked * readBytes);
  }
  return { offsets, readBytes };
}
