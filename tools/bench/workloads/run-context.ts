// What every workload needs from the harness: the link (for counters), the
// system context (for mounting), the server's pid (for its CPU), settings,
// and a logger for progress lines. Passed explicitly; there are no globals.
import type { Cleanup } from '../env/cleanup.js';
import { dropPageCache } from '../env/page-cache.js';
import { PhaseMeter } from '../env/phase-meter.js';
import type { LinkEmulator } from '../link/link-emulator.js';
import type { SystemContext, View } from '../systems/system.js';

export interface RunContext {
  readonly link: LinkEmulator;
  readonly cleanup: Cleanup;
  readonly system: SystemContext;
  readonly serverPid: number | undefined;
  /** The S3 server itself, bypassing the link: for checks that must not count as a system's traffic. */
  readonly serverEndpoint: string;
  readonly seed: number;
  readonly workers: number;
  readonly batch: number;
  readonly epochs: number;
  readonly stepSeconds: number;
  /** Upper bound for any one phase (an epoch, a find), ms. */
  readonly phaseTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** Drops the page cache before a measured phase and starts metering it. */
export function startPhase(ctx: RunContext, view: View): { meter: PhaseMeter; dropped: boolean } {
  const dropped = dropPageCache().dropped;
  const daemon = view.kind === 'fs' ? view.daemonPid : undefined;
  return { meter: new PhaseMeter(ctx.link, daemon, ctx.serverPid), dropped };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
