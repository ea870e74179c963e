// A forked benchmark worker: one process of the loader (or one shard reader,
// or one lane group of direct GETs). It receives a job, reports "armed", waits
// for "go" so that all workers start together, runs the job and reports what
// it did. File reads are synchronous on purpose: a loader worker (PyTorch's
// Dataset.__getitem__) blocks on each open/read, and the mount under test, not
// libuv's thread pool, should decide how reads overlap. A job may need
// getting ready before it can be armed (the random reader starts its
// threads), so that start-up is not timed.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { s3Request } from '../link/s3-http.js';
import type { GetKeysJob, GetOffsetsJob, GetRangesJob, ListTreeJob, ParentMessage, PreadOffsetsJob, ReadFilesJob, ReadRangeJob, TimedGetsJob, WorkerJob, WorkerMessage, WorkerResult } from './jobs.js';
import { preparePreadOffsets } from './pread-reader.js';
import { Tally } from './tally.js';

/** One reusable read buffer: 1 MiB covers any ImageNet JPEG in one or two read(2) calls. */
const READ_BUFFER = Buffer.allocUnsafe(1 << 20);

function readWholeFile(path: string): number {
  const fd = openSync(path, 'r');
  try {
    let total = 0;
    for (let n = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, null); n > 0; n = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, null)) total += n;
    return total;
  } finally {
    closeSync(fd);
  }
}

async function readFiles(job: ReadFilesJob): Promise<WorkerResult> {
  const t = new Tally();
  for (let i = 0; i < job.paths.length; i += job.batch) {
    for (const path of job.paths.slice(i, i + job.batch)) {
      try {
        t.bytes += readWholeFile(path);
        t.items++;
      } catch (err) {
        t.fail(err);
      }
    }
    if (job.stepS > 0) await sleep(job.stepS * 1000);
  }
  return t.result();
}

/** Runs `fn` over `items` with `lanes` in flight. */
async function lanes<T>(items: readonly T[], count: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, count) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

async function getKeys(job: GetKeysJob): Promise<WorkerResult> {
  const t = new Tally();
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const target = { endpoint: job.endpoint, bucket: job.bucket };
  for (let i = 0; i < job.keys.length; i += job.batch) {
    await lanes(job.keys.slice(i, i + job.batch), job.concurrency, async (key) => {
      try {
        // Await first, then add: `t.bytes += await x` reads t.bytes before the await and loses concurrent updates.
        const res = await s3Request(target, { method: 'GET', key }, agent);
        t.bytes += res.bodyBytes;
        t.items++;
      } catch (err) {
        t.fail(err);
      }
    });
    if (job.stepS > 0) await sleep(job.stepS * 1000);
  }
  agent.destroy();
  return t.result();
}

async function timedGets(job: TimedGetsJob): Promise<WorkerResult> {
  const t = new Tally();
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const target = { endpoint: job.endpoint, bucket: job.bucket };
  const deadline = performance.now() + job.durationMs;
  let k = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < deadline) {
        const key = job.keys[k++ % job.keys.length] as string;
        try {
          const res = await s3Request(target, { method: 'GET', key }, agent);
          t.bytes += res.bodyBytes;
          t.items++;
        } catch (err) {
          t.fail(err);
        }
      }
    }),
  );
  agent.destroy();
  return t.result();
}

function readRange(job: ReadRangeJob): WorkerResult {
  const t = new Tally();
  const buf = Buffer.allocUnsafe(job.blockBytes);
  const fd = openSync(job.path, 'r');
  try {
    for (let off = job.offset, end = job.offset + job.length; off < end; ) {
      const n = readSync(fd, buf, 0, Math.min(job.blockBytes, end - off), off);
      if (n === 0) break;
      off += n;
      t.bytes += n;
      t.items++;
    }
  } catch (err) {
    t.fail(err);
  } finally {
    closeSync(fd);
  }
  return t.result();
}

/** Ranged GETs of `bytes` at each start (clipped at `end`), `concurrency` in flight. */
async function getAt(target: { endpoint: string; bucket: string }, key: string, starts: readonly number[], bytes: number, end: number, concurrency: number): Promise<WorkerResult> {
  const t = new Tally();
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  await lanes(starts, concurrency, async (start) => {
    const last = Math.min(start + bytes, end) - 1;
    try {
      const res = await s3Request(target, { method: 'GET', key, headers: { range: `bytes=${start}-${last}` } }, agent);
      t.bytes += res.bodyBytes;
      t.items++;
    } catch (err) {
      t.fail(err);
    }
  });
  agent.destroy();
  return t.result();
}

function getRanges(job: GetRangesJob): Promise<WorkerResult> {
  const starts: number[] = [];
  for (let off = job.offset; off < job.offset + job.length; off += job.blockBytes) starts.push(off);
  return getAt({ endpoint: job.endpoint, bucket: job.bucket }, job.key, starts, job.blockBytes, job.offset + job.length, job.concurrency);
}

function getOffsets(job: GetOffsetsJob): Promise<WorkerResult> {
  return getAt({ endpoint: job.endpoint, bucket: job.bucket }, job.key, job.offsets, job.readBytes, Number.MAX_SAFE_INTEGER, job.concurrency);
}

/** Walks the tree like ImageFolder/os.walk: readdir with types, stat only when the type is unknown. */
function listTree(job: ListTreeJob): WorkerResult {
  const t = new Tally();
  const paths: string[] = [];
  let dirs = 0;
  const walk = (rel: string): void => {
    dirs++;
    const entries = readdirSync(join(job.root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      const isDir = e.isDirectory() || (!e.isFile() && statSync(join(job.root, child)).isDirectory());
      if (isDir) walk(child);
      else paths.push(child);
    }
  };
  try {
    walk('');
  } catch (err) {
    t.fail(err);
  }
  t.items = paths.length;
  return t.result({ paths, dirs });
}

/** Jobs that need nothing before "go". */
function run(job: Exclude<WorkerJob, PreadOffsetsJob>): Promise<WorkerResult> | WorkerResult {
  switch (job.kind) {
    case 'read-files':
      return readFiles(job);
    case 'get-keys':
      return getKeys(job);
    case 'timed-gets':
      return timedGets(job);
    case 'read-range':
      return readRange(job);
    case 'get-ranges':
      return getRanges(job);
    case 'get-offsets':
      return getOffsets(job);
    case 'list-tree':
      return listTree(job);
  }
}

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

type Runner = () => Promise<WorkerResult> | WorkerResult;

/** What must happen before the job can be armed; the returned runner is what "go" times. */
async function prepare(job: WorkerJob): Promise<Runner> {
  if (job.kind === 'pread-offsets') return preparePreadOffsets(job);
  return () => run(job);
}

let pending: Promise<Runner> | undefined;
process.on('message', (msg: ParentMessage) => {
  if (msg.type === 'job') {
    pending = prepare(msg.job);
    pending.then(
      () => send({ type: 'armed' }),
      (err: unknown) => send({ type: 'failed', message: (err as Error).message }),
    );
    return;
  }
  const ready = pending;
  if (ready === undefined) return send({ type: 'failed', message: 'go before job' });
  ready
    .then((runner) => runner())
    .then(
      (result) => send({ type: 'done', result }),
      (err: unknown) => send({ type: 'failed', message: (err as Error).message }),
    );
});
// The parent going away ends the worker, so an interrupted benchmark leaves no readers behind.
process.on('disconnect', () => process.exit(0));
