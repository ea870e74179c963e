// The report's many-nodes section: for each scenario (B after A without and
// with the shared tier; A and B at once with the tier, without and with
// Redis), one row per node with its images/s and the GETs it sent to the
// origin bucket and to the tier's bucket, plus an A+B row for the concurrent
// scenarios (origin GETs per file is the figure the coordinator is for). Also
// the figures the target rows use (ratios.ts). Pure: same results in, same text out.
import type { BenchResults, NodeRun, NodesResult, NodesScenario, NodesScenarioResult, SystemResult } from '../results.js';
import { n, table } from './md-table.js';

export const SCENARIO_LABELS: Record<NodesScenario, string> = {
  sequential: 'B after A, no tier',
  'sequential-tier': 'B after A, shared tier',
  'concurrent-tier': 'A and B at once, shared tier',
  'concurrent-redis': 'A and B at once, shared tier + Redis',
};

/** Whether any system has many-nodes results (results from before the workload existed have none). */
export function hasNodes(r: BenchResults): boolean {
  return r.systems.some((s) => s.nodes !== undefined);
}

/** Whole and ranged GETs: a block fetch is either, depending on the object's size. */
export function gets(requests: NodeRun['originRequests']): number {
  return requests.GET + requests.GET_RANGE;
}

function scenarioOf(nodes: NodesResult | undefined, scenario: NodesScenario): NodesScenarioResult | undefined {
  const s = nodes?.scenarios.find((x) => x.scenario === scenario);
  return s === undefined || s.error !== undefined ? undefined : s;
}

/** One node's run in a scenario; undefined when it did not run or read with errors. */
export function nodeRun(nodes: NodesResult | undefined, scenario: NodesScenario, node: 'A' | 'B'): NodeRun | undefined {
  const run = scenarioOf(nodes, scenario)?.runs.find((r) => r.node === node);
  return run === undefined || run.errors > 0 || run.images === 0 ? undefined : run;
}

/** Origin GETs of both nodes over the files in the dataset; null when either node is missing. */
export function originGetsPerFile(nodes: NodesResult | undefined, scenario: NodesScenario): number | null {
  const a = nodeRun(nodes, scenario, 'A');
  const b = nodeRun(nodes, scenario, 'B');
  if (a === undefined || b === undefined || !(nodes !== undefined && nodes.files > 0)) return null;
  return (gets(a.originRequests) + gets(b.originRequests)) / nodes.files;
}

function runRow(label: string, r: NodeRun, files: number): string[] {
  const errs = r.errors > 0 ? ` ⚠ ${n(r.errors)} errors` : '';
  const perFile = files > 0 ? n(gets(r.originRequests) / files, 2) : 'n/a';
  const dropped = r.tier === undefined ? '' : r.tier.writesDropped > 0 ? ` (${n(r.tier.writesDropped)} dropped)` : '';
  return [label, r.node, `${n(r.imagesPerSecond)}${errs}`, n(r.wallSeconds, 1), n(gets(r.originRequests)), perFile, n(gets(r.tierRequests)), `${n(r.tierRequests.PUT)}${dropped}`];
}

function scenarioRows(s: NodesScenarioResult, files: number): string[][] {
  const label = SCENARIO_LABELS[s.scenario];
  if (s.error !== undefined) return [[label, '', `failed: ${s.error}`, '', '', '', '', '']];
  const rows = s.runs.map((r) => runRow(label, r, files));
  if (!s.concurrent || s.runs.length < 2) return rows;
  const total = s.runs.reduce((sum, r) => sum + gets(r.originRequests), 0);
  const tierGets = s.runs.reduce((sum, r) => sum + gets(r.tierRequests), 0);
  const puts = s.runs.reduce((sum, r) => sum + r.tierRequests.PUT, 0);
  const rate = s.runs.reduce((sum, r) => sum + r.imagesPerSecond, 0);
  const wall = s.runs.reduce((m, r) => Math.max(m, r.wallSeconds), 0);
  return [...rows, [label, 'A+B', n(rate), n(wall, 1), n(total), files > 0 ? n(total / files, 2) : 'n/a', n(tierGets), n(puts)]];
}

function systemRows(s: SystemResult): string[][] {
  const nodes = s.nodes;
  if (s.error !== undefined) return [['', '', `failed: ${s.error}`, '', '', '', '', '']];
  if (nodes === undefined) return [];
  if (nodes.error !== undefined) return [['', '', `failed: ${nodes.error}`, '', '', '', '', '']];
  return nodes.scenarios.flatMap((sc) => scenarioRows(sc, nodes.files));
}

export function nodesSection(r: BenchResults): string {
  const systems = r.systems.filter((s) => s.nodes !== undefined);
  const files = systems.reduce((m, s) => Math.max(m, s.nodes?.files ?? 0), 0);
  const parts = systems.flatMap((s) => [
    ...(systems.length > 1 ? [`### ${s.label}`, ''] : []),
    table(['scenario', 'node', 'images/s', 's', 'origin GETs', 'origin GETs per file', 'tier GETs', 'tier PUTs'], systemRows(s)),
    '',
  ]);
  return [
    `## Two nodes (${n(files)} images each)`,
    '',
    'Two mounts of the image bucket on this machine stand for two nodes: each has its own cache directory and its own emulated link (same latency and bandwidth), and each walks its tree and then reads every image with the loader\'s reader (' +
      `${n(r.settings.workers)} processes, the page cache dropped before each). "B after A": A reads the dataset cold and is unmounted, then B reads it cold. "At once": both read the same shuffled list at the same time. ` +
      'Every scenario starts from empty caches and a fresh tier prefix. The shared tier (`--shared-cache`) is a second bucket on the same S3 server; GETs (whole and ranged) are counted at each node\'s link by bucket, from its walk until its tier writes were done; a tier GET that misses is counted too. Redis: Debian\'s redis-server on a loopback port (`--coordinator`). Informational targets: B after A with the tier ≈ 0 origin GETs; at once with Redis ≈ 1 origin GET per file for A+B. The daemons\' CPU and memory: "nodes" phases under Cost per phase.',
    '',
    ...parts,
  ].join('\n').trimEnd();
}
