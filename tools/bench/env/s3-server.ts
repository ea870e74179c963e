// Starts the local S3 server the benchmark reads from. It prefers the
// project's own devtools server (s3rver in a child process with its Node 20
// bugs corrected); while that module is not built, it falls back to running
// s3rver's CLI directly with --openssl-legacy-provider (continuation tokens
// need DES). Either way the server runs in a child process, whose pid the
// harness needs to charge the server's CPU seconds to each workload.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPids } from './proc-stats.js';
import { freePort } from '../../../src/util/free-port.js';

export interface RunningS3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Which implementation runs: the project's devtools server or raw s3rver. */
  readonly flavour: 'devtools' | 's3rver-cli' | 'synthetic';
  /** Pid of the process that serves requests, when it could be found. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

interface DevtoolsServer {
  endpoint: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}
type DevtoolsStart = (opts: { directory?: string; port?: number; buckets?: string[] }) => Promise<DevtoolsServer>;

const DEVTOOLS_MODULE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'local-s3', 'local-s3-server.js');
/** s3rver answers within ~1 s of spawning on an idle machine; 30 s tolerates a loaded one. */
const START_TIMEOUT_MS = 30_000;

export async function startS3Server(directory: string): Promise<RunningS3Server> {
  if (existsSync(DEVTOOLS_MODULE)) {
    const mod = (await import(DEVTOOLS_MODULE)) as { startLocalS3Server?: DevtoolsStart };
    if (typeof mod.startLocalS3Server === 'function') {
      const srv = await mod.startLocalS3Server({ directory, port: 0 });
      const pid = serverPid(String(srv.port), directory);
      return { endpoint: srv.endpoint, port: srv.port, directory: srv.directory, flavour: 'devtools', pid, stop: () => srv.stop() };
    }
  }
  return startS3rverCli(directory);
}

/** The descendant of this process whose command line names the server's port or directory. */
function serverPid(port: string, directory: string): number | undefined {
  const mine = findPids((cmd, info) => info.isDescendantOf(process.pid) && (cmd.includes(directory) || cmd.includes(port)));
  return mine[mine.length - 1];
}


async function startS3rverCli(directory: string): Promise<RunningS3Server> {
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', String(port), '--silent'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`s3rver exited with ${child.exitCode}: ${stderr.trim()}`);
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`s3rver did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  return { endpoint, port, directory, flavour: 's3rver-cli', pid: child.pid, stop };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
