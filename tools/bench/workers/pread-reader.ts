// The shard workload's random reader, inside a forked bench worker: pread(2)
// of fixed-size blocks at a list of offsets, with one thread or several.
// With several, the threads (worker_threads, each blocking in readSync, so
// each is one kernel thread in a read) are started while the worker arms,
// before "go", and wait; on "go" the process opens the file once and hands
// the descriptor to every thread, which reads its own share of the list. A
// thread is this same module loaded with `workerData.role === 'pread'`.
import { closeSync, openSync, readSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { PreadOffsetsJob, WorkerResult } from './jobs.js';
import { sumResults, Tally } from './tally.js';

interface ThreadData {
  readonly role: 'pread';
  readonly offsets: readonly number[];
  readonly readBytes: number;
}

type ThreadMessage = { readonly type: 'ready' } | { readonly type: 'done'; readonly result: WorkerResult };

/** Reads one whole block at `offset` (a short read is continued, as a record reader would); returns the bytes read. */
function preadBlock(fd: number, buf: Buffer, offset: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** One thread's share: every offset is read even if another failed (each read stands alone). */
function readShare(fd: number, offsets: readonly number[], readBytes: number): WorkerResult {
  const t = new Tally();
  const buf = Buffer.allocUnsafe(readBytes);
  for (const offset of offsets) {
    try {
      t.bytes += preadBlock(fd, buf, offset);
      t.items++;
    } catch (err) {
      t.fail(err);
    }
  }
  return t.result();
}

/** One thread: the whole list, in this process's main thread. */
function readAlone(job: PreadOffsetsJob): WorkerResult {
  const t = new Tally();
  const fd = openOrFail(job.path, t);
  if (fd === undefined) return t.result();
  try {
    return { ...readShare(fd, job.shares.flat(), job.readBytes), seconds: t.result().seconds };
  } finally {
    closeSync(fd);
  }
}

function nextMessage(w: Worker): Promise<ThreadMessage> {
  return new Promise((resolve, reject) => {
    const off = (): void => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: ThreadMessage): void => (off(), resolve(m));
    const onError = (err: Error): void => (off(), reject(err));
    const onExit = (code: number): void => (off(), reject(new Error(`pread thread exited early (code ${code})`)));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

/**
 * Gets the job ready to run: for several threads, starts them and waits
 * until each is loaded. Returns the function that runs the reads on "go".
 */
export async function preparePreadOffsets(job: PreadOffsetsJob): Promise<() => Promise<WorkerResult>> {
  if (job.shares.length <= 1) return async () => readAlone(job);
  const threads = job.shares.map((offsets) => new Worker(new URL(import.meta.url), { workerData: { role: 'pread', offsets, readBytes: job.readBytes } satisfies ThreadData }));
  const stopAll = (): Promise<number[]> => Promise.all(threads.map((w) => w.terminate()));
  try {
    await Promise.all(threads.map(nextMessage));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return async () => {
    const t = new Tally();
    try {
      const fd = openOrFail(job.path, t);
      if (fd === undefined) return t.result();
      try {
        const done = threads.map(nextMessage);
        for (const w of threads) w.postMessage({ fd });
        const parts = (await Promise.all(done)).map((m) => (m.type === 'done' ? m.result : t.result()));
        return sumResults(parts, t.result().seconds);
      } finally {
        closeSync(fd);
      }
    } finally {
      await stopAll();
    }
  };
}

if (!isMainThread && (workerData as ThreadData | undefined)?.role === 'pread') {
  const data = workerData as ThreadData;
  const port = parentPort;
  port?.once('message', (msg: { fd: number }) => {
    port.postMessage({ type: 'done', result: readShare(msg.fd, data.offsets, data.readBytes) } satisfies ThreadMessage);
  });
  port?.postMessage({ type: 'ready' } satisfies ThreadMessage);
}

/** The file's descriptor, or undefined with the failure counted in `t`. */
function openOrFail(path: string, t: Tally): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (err) {
    t.fail(err);
    return undefined;
  }
}
