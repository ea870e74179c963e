// The scale benchmark's figures and their report (scale.md beside scale.json): per
// system, each phase's seconds, the time per 100,000 files, files/s, and memory per file.
// Pure: the runner (scale-run.ts) measures, this only computes and formats.

/** One timed phase; `seconds` undefined when it did not finish within the limit (`note` says why). */
export interface PhaseResult {
  readonly seconds?: number;
  readonly files: number;
  /** Daemon CPU seconds during the phase, when the daemon is known. */
  readonly cpuSeconds?: number;
  readonly note?: string;
  /** A phase cut at its limit: how many of its files were done by then, and the limit in seconds. */
  readonly doneFiles?: number;
  readonly limitSeconds?: number;
  /** s3cachefs: its memory at the end of the phase, split as its own `stats --json` reports it. */
  readonly memory?: MemorySplit;
}

/** The daemon's resident set at one moment: V8's heap, memory V8 keeps outside it, and the rest (native). */
export interface MemorySplit {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
}

const SCALE_PHASES = ['mount', 'findCold', 'findWarm', 'epochCold', 'epochWarm', 'remount', 'findAfterRemount'] as const;
export type ScalePhase = (typeof SCALE_PHASES)[number];

export interface ScaleSystemResult {
  readonly system: string;
  readonly phases: Partial<Record<ScalePhase, PhaseResult>>;
  /** The daemon's peak RSS (VmHWM) over the run, and its RSS after the warm epoch, bytes. */
  readonly peakRssBytes?: number;
  readonly rssAfterEpochsBytes?: number;
  /** After the remount's walk (s3cachefs): the daemon that read the index and the manifest. */
  readonly peakRssAfterRemountBytes?: number;
  readonly notes: string[];
}

export interface ScaleResults {
  readonly startedAt: string;
  readonly command: string;
  readonly objects: number;
  readonly perDirectory: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly readers: number;
  readonly timeLimitSeconds: number;
  /** The peers' bound, when it differs. */
  readonly peerTimeLimitSeconds?: number;
  readonly machine: string;
  /** What else ran on the machine (load average at start and end). */
  readonly load: string[];
  readonly systems: ScaleSystemResult[];
}

const PHASE_LABELS: Record<ScalePhase, string> = {
  mount: 'mount (empty cache)',
  findCold: '`find` cold',
  findWarm: '`find` warm',
  epochCold: 'epoch cold',
  epochWarm: 'epoch warm',
  remount: 'remount (N cached blocks)',
  findAfterRemount: '`find` after remount',
};

/** Seconds per 100,000 files. */
export function perHundredThousand(seconds: number, files: number): number {
  return files === 0 ? 0 : (seconds * 100_000) / files;
}

/** Bytes per file, rounded. */
export function bytesPerFile(bytes: number, files: number): number {
  return files === 0 ? 0 : Math.round(bytes / files);
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One table cell for a phase: seconds, per 100k files and files/s; or why it has none. */
export function phaseCell(p: PhaseResult | undefined): string {
  if (p === undefined) return '—';
  if (p.seconds === undefined) {
    if (p.doneFiles === undefined || p.limitSeconds === undefined || p.files === 0) return p.note ?? 'did not finish';
    return `${p.note ?? 'did not finish'}: ${fmt(p.doneFiles)} of ${fmt(p.files)} files by then (${fmt(p.doneFiles / p.limitSeconds)} files/s)`;
  }
  const rate = p.seconds > 0 && p.files > 0 ? `, ${fmt(p.files / p.seconds)} files/s` : '';
  const per = p.files > 0 ? ` (${fmt(perHundredThousand(p.seconds, p.files), 1)} s per 100k${rate})` : '';
  const cpu = p.cpuSeconds === undefined ? '' : `; daemon CPU ${fmt(p.cpuSeconds, 1)} s`;
  return `${fmt(p.seconds, 1)} s${per}${cpu}`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '—' : `${fmt(bytes / 2 ** 20)} MiB`;
}

export function renderScaleReport(r: ScaleResults): string {
  const lines = [
    `# Scale benchmark (${r.startedAt})`,
    '',
    `\`${r.command}\`: ${fmt(r.objects)} objects of ${fmt(r.minBytes)}–${fmt(r.maxBytes)} bytes, ${fmt(r.perDirectory)} per directory, on the synthetic store; ${r.readers} reader processes per epoch; each phase bounded at ${fmt(r.timeLimitSeconds)} s${r.peerTimeLimitSeconds !== undefined && r.peerTimeLimitSeconds !== r.timeLimitSeconds ? ` (s3fs-fuse and rclone: ${fmt(r.peerTimeLimitSeconds)} s)` : ''}.`,
    `Machine: ${r.machine}. Load: ${r.load.join('; ')}.`,
    '',
    `| phase | ${r.systems.map((s) => s.system).join(' | ')} |`,
    `| --- | ${r.systems.map(() => '---').join(' | ')} |`,
  ];
  for (const phase of SCALE_PHASES) {
    if (r.systems.every((s) => s.phases[phase] === undefined)) continue;
    lines.push(`| ${PHASE_LABELS[phase]} | ${r.systems.map((s) => phaseCell(s.phases[phase])).join(' | ')} |`);
  }
  const mem = (_s: ScaleSystemResult, b: number | undefined) => (b === undefined ? '—' : `${mib(b)} (${fmt(bytesPerFile(b, r.objects))} B per file)`);
  lines.push(`| peak RSS of the daemon | ${r.systems.map((s) => mem(s, s.peakRssBytes)).join(' | ')} |`);
  lines.push(`| RSS after the epochs | ${r.systems.map((s) => mem(s, s.rssAfterEpochsBytes)).join(' | ')} |`);
  if (r.systems.some((s) => s.peakRssAfterRemountBytes !== undefined)) {
    lines.push(`| peak RSS after remount + walk | ${r.systems.map((s) => mem(s, s.peakRssAfterRemountBytes)).join(' | ')} |`);
  }
  const split = memorySplitLines(r);
  if (split.length > 0) lines.push('', ...split);
  const notes = r.systems.flatMap((s) => s.notes.map((n) => `- ${s.system}: ${n}`));
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes);
  return `${lines.join('\n')}\n`;
}

/**
 * Where each system's resident memory was at the end of each phase, for the systems that
 * report it (s3cachefs): the JS heap (in use / as large as V8 keeps it), memory outside it
 * (block buffers, the index arrays), and the rest — native: libfuse's node per path the
 * kernel holds, the allocator's arenas, code.
 */
export function memorySplitLines(r: ScaleResults): string[] {
  const lines: string[] = [];
  for (const s of r.systems) {
    const rows = SCALE_PHASES.flatMap((phase) => {
      const m = s.phases[phase]?.memory;
      if (m === undefined) return [];
      const native = m.rssBytes - m.heapTotalBytes - m.externalBytes;
      return [`| ${PHASE_LABELS[phase]} | ${mib(m.rssBytes)} | ${mib(m.heapUsedBytes)} / ${mib(m.heapTotalBytes)} | ${mib(m.externalBytes)} | ${mib(native)} (${fmt(bytesPerFile(native, r.objects))} B per file) |`];
    });
    if (rows.length === 0) continue;
    lines.push(`${s.system}'s memory at the end of each phase (its own \`stats --json\`):`, '', '| after | RSS | JS heap used / total | outside the heap | the rest: native |', '| --- | --- | --- | --- | --- |', ...rows, '');
  }
  return lines;
}
