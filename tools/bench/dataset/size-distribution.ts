// File sizes drawn like ImageNet's training JPEGs: roughly log-normal with a
// mean near 110 KB, clipped to [~20 KB, ~500 KB] so one outlier cannot
// dominate a small quick run. The clip moves the mean by well under 1 %
// because both tails beyond it hold a fraction of a percent of the mass.
import type { Prng } from './prng.js';

export interface SizeDistribution {
  /** Target mean of the unclipped distribution, bytes. */
  readonly meanBytes: number;
  /** Log-space standard deviation; 0.5 gives ImageNet's spread (median ~97 KB). */
  readonly sigma: number;
  readonly minBytes: number;
  readonly maxBytes: number;
}

/** ImageNet-1k train: 1.28 M files, ~140 GB, so ~110 KB each on average. */
export const IMAGENET_SIZES: SizeDistribution = Object.freeze({
  meanBytes: 110_000,
  sigma: 0.5,
  minBytes: 20_000,
  maxBytes: 500_000,
});

/** Draws one size; mu is chosen so that E[X] = meanBytes for a log-normal. */
export function drawSize(rng: Prng, dist: SizeDistribution): number {
  const mu = Math.log(dist.meanBytes) - (dist.sigma * dist.sigma) / 2;
  const size = Math.round(Math.exp(mu + dist.sigma * rng.normal()));
  return Math.min(dist.maxBytes, Math.max(dist.minBytes, size));
}
