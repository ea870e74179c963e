// Every measured phase of one system (loader listing and epochs, shard runs,
// metadata runs, write tests per mount variant, each node of the nodes
// scenarios), labelled as the "Cost per phase" table shows them.
import type { PhaseCost, SystemResult } from '../results.js';

export interface Phase {
  /** The system, or the mount variant or node that ran the phase. */
  readonly system: string;
  readonly phase: string;
  readonly cost: PhaseCost;
}

export function systemPhases(s: SystemResult): Phase[] {
  const phases: Phase[] = [];
  const add = (system: string, phase: string, cost: PhaseCost): void => void phases.push({ system, phase, cost });
  if (s.loader) {
    add(s.label, 'listing', s.loader.listCost);
    for (const e of s.loader.epochs) add(s.label, `epoch ${e.epoch}`, e.cost);
  }
  for (const run of s.shard?.runs ?? []) add(s.label, `shard ${run.name}`, run.cost);
  for (const run of s.metadata?.runs ?? []) add(s.label, `${run.op} ${run.state}`, run.cost);
  for (const row of s.writes?.rows ?? []) for (const run of row.runs) add(row.label, `write ${run.test}`, run.cost);
  for (const sc of s.nodes?.scenarios ?? []) for (const run of sc.runs) add(`${s.label} node ${run.node}`, `nodes ${sc.scenario}`, run.cost);
  return phases;
}
