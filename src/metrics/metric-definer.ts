/**
 * How the metric tables (read-metrics.ts, work-metrics.ts) declare their metrics to the
 * exporter: a name, help, label names and a function giving the samples of one scrape,
 * read from the StatsSnapshot the exporter takes for it.
 */
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'

export type Labels = Record<string, string>
export type Sample = [Labels, number]

export interface MetricDefiner {
  counter(name: string, help: string, labelNames: string[], samples: () => Sample[]): void
  gauge(name: string, help: string, labelNames: string[], samples: () => Sample[]): void
}

/** One unlabelled sample of a figure of the snapshot. */
export function oneOf(s: () => StatsSnapshot): (f: (x: StatsSnapshot) => number) => () => Sample[] {
  return f => () => [[{}, f(s())]]
}
