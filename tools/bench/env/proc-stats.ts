// Reads a process's cost from /proc: CPU seconds (utime + stime) and resident
// memory (VmRSS now, VmHWM = peak since start). A sampler polls VmRSS while a
// workload runs because VmHWM is lost when a daemon exits between phases.
// Also finds processes by command line (the daemons fork into the background,
// so their pids are only known from /proc).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;
/** Kernel clock ticks per second for /proc/PID/stat times (almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/PID/stat after the `(comm)` field, which may itself contain spaces. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds the process has used, or undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (f === undefined) return undefined;
  // utime and stime are fields 14 and 15 of stat; here indices 11 and 12.
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
}

function parentPid(pid: number): number | undefined {
  const f = statFields(pid);
  return f === undefined ? undefined : Number(f[1]);
}

export interface Memory {
  readonly rssBytes: number;
  readonly hwmBytes: number;
  /** Threads now (the same file says it; a FUSE daemon's worker pool shows here). */
  readonly threads: number;
}

export function memory(pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

export interface ProcInfo {
  readonly pid: number;
  /** The command line's arguments, exactly as given (argv[0] first). */
  readonly argv: readonly string[];
  isDescendantOf(ancestor: number): boolean;
}

/** Pids (ascending) whose NUL-joined command line, shown with spaces, satisfies `match`. Never includes this process. */
export function findPids(match: (cmdline: string, info: ProcInfo) => boolean): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    } catch {
      continue;
    }
    if (argv.length === 0) continue;
    const cmd = argv.join(' ');
    const info: ProcInfo = {
      pid,
      argv,
      isDescendantOf(ancestor: number): boolean {
        for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
          p = parentPid(p);
          if (p === ancestor) return true;
        }
        return false;
      },
    };
    if (match(cmd, info)) out.push(pid);
  }
  return out.sort((a, b) => a - b);
}

/** Polling interval for peak RSS, ms: fine enough to see a workload's plateau, cheap on 2 cores. */
const SAMPLE_INTERVAL_MS = 250;

/** Watches one process during a phase: CPU seconds used and peak RSS seen. */
export class ProcSampler {
  readonly #pid: number;
  readonly #cpuStart: number;
  #peakRss = 0;
  #hwm = 0;
  #peakThreads = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number) {
    this.#pid = pid;
    this.#cpuStart = cpuSeconds(pid) ?? 0;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
  }

  #sample(): void {
    const m = memory(this.#pid);
    if (m === undefined) return;
    // VmRSS, not VmHWM: the high-water mark would carry an earlier phase's peak into this one.
    this.#peakRss = Math.max(this.#peakRss, m.rssBytes);
    this.#hwm = m.hwmBytes;
    this.#peakThreads = Math.max(this.#peakThreads, m.threads);
  }

  /** Stops sampling; returns CPU seconds used since construction, the peak RSS and thread count sampled, and VmHWM (peak since the process started). */
  stop(): { cpuSeconds: number; peakRssBytes: number; hwmBytes: number; peakThreads: number } {
    this.#sample();
    clearInterval(this.#timer);
    const end = cpuSeconds(this.#pid);
    return { cpuSeconds: end === undefined ? Number.NaN : end - this.#cpuStart, peakRssBytes: this.#peakRss, hwmBytes: this.#hwm, peakThreads: this.#peakThreads };
  }
}
