// Forks one bench worker per job, starts them together and collects their
// results. The wall time runs from the common "go" to the last "done", so
// process start-up and job transfer are not charged to the system under test.
// Every phase is bounded by a timeout; workers are killed on timeout, failure
// or interruption (they are registered with the cleanup stack while alive).
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from '../env/cleanup.js';
import type { ParentMessage, WorkerJob, WorkerMessage, WorkerResult } from './jobs.js';

const WORKER_MODULE = join(dirname(fileURLToPath(import.meta.url)), 'bench-worker.js');

export interface PoolRun {
  readonly results: WorkerResult[];
  readonly wallSeconds: number;
}

class WorkerTimeoutError extends Error {
  readonly code = 'WORKER_TIMEOUT';
}

function waitFor(child: ChildProcess, types: ReadonlyArray<WorkerMessage['type']>): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: WorkerMessage): void => {
      if (!types.includes(msg.type) && msg.type !== 'failed') return;
      off();
      if (msg.type === 'failed') reject(new Error(`worker failed: ${msg.message}`));
      else resolve(msg);
    };
    const onExit = (code: number | null): void => {
      off();
      reject(new Error(`worker exited early (code ${code})`));
    };
    const off = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export async function runWorkers(jobs: readonly WorkerJob[], cleanup: Cleanup, timeoutMs: number): Promise<PoolRun> {
  cleanup.throwIfAborted();
  const children = jobs.map(() => fork(WORKER_MODULE, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const killAll = cleanup.add('bench workers', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WorkerTimeoutError(`workers did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    await Promise.race([
      Promise.all(
        children.map((c, i) => {
          const armed = waitFor(c, ['armed']);
          c.send({ type: 'job', job: jobs[i] as WorkerJob } satisfies ParentMessage);
          return armed;
        }),
      ),
      timeout,
    ]);
    const started = performance.now();
    const done = children.map((c) => waitFor(c, ['done']));
    for (const c of children) c.send({ type: 'go' } satisfies ParentMessage);
    const messages = await Promise.race([Promise.all(done), timeout]);
    const wallSeconds = (performance.now() - started) / 1000;
    return { results: messages.map((m) => (m as Extract<WorkerMessage, { type: 'done' }>).result), wallSeconds };
  } finally {
    clearTimeout(timer);
    for (const c of children) if (c.connected) c.disconnect();
    await killAll();
  }
}
