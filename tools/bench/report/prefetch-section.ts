// Target rows of the prefetch workload (issue 9): the serial reader of an
// announced shuffled list against the latency bound (one round trip per file,
// 1 / TTFB files/s: the ratio is files/s × TTFB), the same reader without
// announcing (informational), and the hit ratio on a dataset twice the cache
// with scan prefetch against without it. Missing runs yield n/a.
import type { BenchResults, SystemResult } from '../results.js';
import type { PrefetchResult } from '../workloads/prefetch-targets.js';
import type { TargetRow } from './ratios.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const SERIAL_METRIC = 'serial reader of an announced shuffled list (prefetch --list), files/s × TTFB';
const PLAIN_METRIC = 'the same serial reader, not announced, files/s × TTFB';
const PRESSURE_METRIC = 'hit ratio (bytes), dataset 2× the disk cache, epochs after the first';

/** 'prefetch' for this section's target rows (the report leaves out rows of skipped workloads). */
export function prefetchWorkload(metric: string): 'prefetch' | undefined {
  return [SERIAL_METRIC, PLAIN_METRIC, PRESSURE_METRIC].includes(metric) ? 'prefetch' : undefined;
}

function serialRate(p: PrefetchResult | undefined, announced: boolean): number | null {
  const run = p?.serial?.find((r) => r.announced === announced);
  return run === undefined || run.files === 0 || run.errors > 0 ? null : run.filesPerSecond;
}

/** Mean hit ratio of the epochs after the first (the cache full), with or without prefetch; null when none ran. */
function pressureHitRatio(p: PrefetchResult | undefined, prefetch: boolean): number | null {
  const epochs = (p?.pressure?.epochs ?? []).filter((e) => e.prefetch === prefetch && e.epoch > 1);
  return epochs.length === 0 ? null : epochs.reduce((s, e) => s + e.hitRatio, 0) / epochs.length;
}

export function prefetchTargetRows(results: BenchResults, c: SystemResult): TargetRow[] {
  const p = results.systems.find((s) => s.name === c.name && s.error === undefined)?.prefetch;
  if (p === undefined) return [];
  const ttfbS = p.ttfbMs / 1000;
  const bound = (rate: number | null): number | null => (rate === null || !(ttfbS > 0) ? null : rate * ttfbS);
  const announced = serialRate(p, true);
  const plain = serialRate(p, false);
  const withPrefetch = pressureHitRatio(p, true);
  const without = pressureHitRatio(p, false);
  const hitRatio = withPrefetch === null || without === null ? null : without === 0 ? (withPrefetch === 0 ? 1 : null) : withPrefetch / without;
  const pressure = p.pressure;
  const sizes = pressure === undefined ? '' : `cache ${(pressure.cacheBytes / 1e6).toFixed(0)} MB for ${(pressure.datasetBytes / 1e6).toFixed(0)} MB of data; `;
  const error = p.error === undefined ? '' : `; failed: ${p.error}`;
  return [
    {
      system: c.label, metric: SERIAL_METRIC, against: 'latency bound (1 / TTFB files/s)',
      ratio: bound(announced), target: 5, note: `${announced === null ? 'n/a' : announced.toFixed(0)} files/s, TTFB ${p.ttfbMs} ms${error}`,
    },
    {
      system: c.label, metric: PLAIN_METRIC, against: 'latency bound (1 / TTFB files/s)',
      ratio: bound(plain), target: null, note: `${plain === null ? 'n/a' : plain.toFixed(0)} files/s (scan prefetch only)`,
    },
    {
      system: c.label, metric: PRESSURE_METRIC, against: 'the same without prefetch (--prefetch-after off)',
      ratio: hitRatio, target: 1,
      note: `${sizes}with prefetch ${withPrefetch === null ? 'n/a' : pct(withPrefetch)}, without ${without === null ? 'n/a' : pct(without)}${error}`,
    },
  ];
}
