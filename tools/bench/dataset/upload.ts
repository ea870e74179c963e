// Uploads the locally generated datasets to the S3 server, once. Uploads go
// straight to the server (not through the emulated link): setup is not what
// is measured. A marker under the benchmark cache records a finished upload;
// it is trusted only if the server still has the last object at the right
// size, so a deleted server directory triggers a fresh upload.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { S3HttpError, s3Request, type S3Target } from '../link/s3-http.js';
import { forEachLimit } from '../../../src/util/for-each-limit.js';

/** Parallel PUTs: s3rver is single-threaded, so more would only queue inside it. */
const UPLOAD_CONCURRENCY = 16;

export interface UploadItem {
  /** Object key in the bucket. */
  readonly key: string;
  /** Local file to send. */
  readonly file: string;
  readonly bytes: number;
}

export async function createBucket(target: S3Target, agent: http.Agent): Promise<void> {
  try {
    await s3Request(target, { method: 'PUT' }, agent);
  } catch (err) {
    // Already there (from an earlier run or created at server start) is fine.
    if (!(err instanceof S3HttpError && err.status === 409)) throw err;
  }
}

async function hasObject(target: S3Target, item: UploadItem, agent: http.Agent): Promise<boolean> {
  try {
    const res = await s3Request(target, { method: 'HEAD', key: item.key }, agent);
    return Number(res.headers['content-length']) === item.bytes;
  } catch {
    return false;
  }
}

/** Uploads `items` unless a marker and a spot check say they are already there. Returns true when it uploaded. */
export async function uploadOnce(cacheDir: string, target: S3Target, items: readonly UploadItem[], onProgress?: (done: number) => void): Promise<boolean> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: UPLOAD_CONCURRENCY });
  try {
    const markerPath = join(cacheDir, 'uploaded', `${target.bucket}.json`);
    const marker = JSON.stringify({ count: items.length, bytes: items.reduce((s, i) => s + i.bytes, 0) });
    const last = items[items.length - 1];
    const marked = await readFile(markerPath, 'utf8').then((text) => text === marker, () => false);
    if (marked && (last === undefined || (await hasObject(target, last, agent)))) return false;
    await createBucket(target, agent);
    let done = 0;
    await forEachLimit(items, UPLOAD_CONCURRENCY, async (item) => {
      const body = item.bytes > 8 * 1048576 ? createReadStream(item.file) : await readFile(item.file);
      await s3Request(target, { method: 'PUT', key: item.key, body, contentLength: item.bytes }, agent);
      if (++done % 1000 === 0) onProgress?.(done);
    });
    await mkdir(join(cacheDir, 'uploaded'), { recursive: true });
    await writeFile(markerPath, marker);
    return true;
  } finally {
    agent.destroy();
  }
}
