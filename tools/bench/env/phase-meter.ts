// Measures one phase's cost: resets the proxy's counters, samples the daemon
// and the S3 server from /proc while the phase runs, and returns the totals.
// The proxy runs inside the harness, so the harness's own CPU is reported too.
import type { LinkEmulator } from '../link/link-emulator.js';
import { totalBytesDown } from '../link/link-emulator.js';
import type { PhaseCost } from '../results.js';
import { ProcSampler } from './proc-stats.js';

/** The cost of a phase that never started (a mount that failed): nothing measured. */
export function emptyCost(): PhaseCost {
  return { requests: { GET: 0, GET_RANGE: 0, HEAD: 0, LIST: 0, PUT: 0, OTHER: 0 }, bytesDown: 0, bytesUp: 0, httpErrors: 0, harnessCpuSeconds: 0 };
}

export class PhaseMeter {
  readonly #link: LinkEmulator;
  readonly #daemon: ProcSampler | undefined;
  readonly #server: ProcSampler | undefined;
  readonly #harnessStart = process.cpuUsage();

  constructor(link: LinkEmulator, daemonPid: number | undefined, serverPid: number | undefined) {
    this.#link = link;
    link.resetCounters();
    this.#daemon = daemonPid === undefined ? undefined : new ProcSampler(daemonPid);
    this.#server = serverPid === undefined ? undefined : new ProcSampler(serverPid);
  }

  stop(): PhaseCost {
    const c = this.#link.counters();
    const cpu = process.cpuUsage(this.#harnessStart);
    const cost: PhaseCost = {
      requests: c.requests,
      bytesDown: totalBytesDown(c),
      bytesUp: c.bytesUp,
      httpErrors: c.errors,
      harnessCpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    const daemon = this.#daemon?.stop();
    const server = this.#server?.stop();
    return {
      ...cost,
      ...(daemon === undefined ? {} : { daemon }),
      ...(server === undefined ? {} : { serverCpuSeconds: server.cpuSeconds }),
    };
  }
}
