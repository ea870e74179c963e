// Debian's redis-server for the many-nodes workload's coordinator
// (`--coordinator redis://127.0.0.1:PORT`): a child process of the harness on a
// free loopback port, with no persistence and its working directory in the
// run's scratch space. Registered with the cleanup stack at once, so an
// interrupted run leaves no server behind. Ready once it answers PING.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cleanup } from './cleanup.js';
import { freePort } from '../../../src/util/free-port.js';

/** redis-server answers within ~50 ms on an idle machine; 10 s tolerates a loaded one. */
const START_TIMEOUT_MS = 10_000;

export interface RunningRedis {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}


/** The server's command line: loopback only, nothing written to disk. */
export function redisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

/** One inline PING over a fresh connection; false on any error or after 1 s. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

export async function startRedis(dir: string, cleanup: Cleanup): Promise<RunningRedis> {
  cleanup.throwIfAborted();
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', redisArgs(port, dir), { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const release = cleanup.add(`redis-server on port ${port}`, stop);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await pings(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await release();
      throw new Error(`redis-server did not answer on 127.0.0.1:${port} within ${START_TIMEOUT_MS / 1000} s`);
    }
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: release };
}
