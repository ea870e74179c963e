// Describes the machine a run happened on, for the report: the numbers only
// compare within one run, and a reader needs to know how big that machine was.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
  readonly s3fsVersion: string | undefined;
  /** Optional: results from runs before rclone was a system lack it. */
  readonly rcloneVersion?: string | undefined;
  readonly fuseVersion: string | undefined;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.split('\n').find((l) => l.trim() !== '')?.trim();
  } catch (err) {
    // `fusermount -V` prints its version and some builds exit non-zero.
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim();
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    os: osName(),
    node: process.version,
    s3fsVersion: firstLine('s3fs', ['--version']),
    rcloneVersion: firstLine('rclone', ['version']),
    fuseVersion: firstLine('fusermount', ['-V']),
  };
}
