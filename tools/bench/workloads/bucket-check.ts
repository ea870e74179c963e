// Is what a writer wrote really in the bucket? The harness asks the S3 server
// directly, not through the emulated link, so the systems' request counts and
// bandwidth stay theirs: one HEAD for a single object, ListObjectsV2 pages for
// a folder of them (one request instead of a thousand HEADs). An object counts
// only at its full size. Also removes a test's objects afterwards, so the
// server's directory does not grow by gigabytes per run.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { listObjects, S3HttpError, s3Request, type ListedObject, type S3Target } from '../link/s3-http.js';

/**
 * Shortest wait between two checks, ms. Durable times are seconds, so 100 ms
 * keeps the polling error small; pollDelayMs stretches it for slow checks.
 */
export const MIN_POLL_MS = 100;

/** Object key → expected size in bytes. */
export type ExpectedObjects = ReadonlyMap<string, number>;

/** Keys of `expected` that `listed` lacks or holds at another size (an upload not finished). */
export function missingObjects(expected: ExpectedObjects, listed: readonly ListedObject[]): string[] {
  const sizes = new Map(listed.map((o) => [o.key, o.size]));
  return [...expected].filter(([key, size]) => sizes.get(key) !== size).map(([key]) => key);
}

/**
 * The wait before the next check: at least MIN_POLL_MS, and twice as long as
 * the last check took, so that polling (a LIST of 1,000 keys costs s3rver tens
 * of ms of CPU) never takes more than a third of the server from the system
 * being measured.
 */
export function pollDelayMs(lastCheckMs: number): number {
  return Math.max(MIN_POLL_MS, 2 * lastCheckMs);
}

async function headSize(target: S3Target, key: string, agent: http.Agent): Promise<number | undefined> {
  try {
    const res = await s3Request(target, { method: 'HEAD', key }, agent);
    return Number(res.headers['content-length']);
  } catch (err) {
    if (err instanceof S3HttpError && err.status === 404) return undefined;
    throw err;
  }
}

/** The keys of `expected` not (yet) in the bucket at their full size. */
export async function checkBucket(target: S3Target, prefix: string, expected: ExpectedObjects, agent: http.Agent): Promise<string[]> {
  const only = expected.size === 1 ? [...expected][0] : undefined;
  if (only !== undefined) {
    const size = await headSize(target, only[0], agent);
    return size === only[1] ? [] : [only[0]];
  }
  return missingObjects(expected, (await listObjects(target, prefix, agent)).objects);
}

/**
 * Polls until every expected object is in the bucket; resolves with the
 * performance.now() time of the answer that showed the last one. Rejects
 * once `deadline` (performance.now() time) has passed, or `signal` aborts.
 */
export async function waitInBucket(target: S3Target, prefix: string, expected: ExpectedObjects, deadline: number, signal?: AbortSignal): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (;;) {
      if (signal?.aborted) throw new Error('stopped polling the bucket');
      const started = performance.now();
      const missing = await checkBucket(target, prefix, expected, agent);
      const now = performance.now();
      if (missing.length === 0) return now;
      if (now > deadline) throw new Error(`${missing.length} of ${expected.size} objects were still not in the bucket at full size when the phase timed out (first: ${missing[0] ?? '?'})`);
      await sleep(pollDelayMs(now - started));
    }
  } finally {
    agent.destroy();
  }
}

/** Deletes every object under `prefix` (including directory markers some systems write); returns how many. */
export async function deletePrefix(target: S3Target, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete a whole bucket');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { objects } = await listObjects(target, prefix, agent);
    // One at a time: s3rver removes a folder once it is empty, and parallel
    // DELETEs in one folder race on that and answer 500.
    for (const o of objects) await s3Request(target, { method: 'DELETE', key: o.key }, agent);
    return objects.length;
  } finally {
    agent.destroy();
  }
}
