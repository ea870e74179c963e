// A tiny signed S3 HTTP client over node:http, used by the harness for
// uploads, direct GETs (the cold-epoch limit) and link calibration. It streams
// bodies and can discard them while counting, so measuring a read never holds
// a whole object in memory. Path-style addressing only (local endpoints).
import http from 'node:http';
import type { Readable } from 'node:stream';
import { s3Encode, signRequest } from './sigv4.js';

export interface S3Target {
  /** e.g. `http://127.0.0.1:9000` */
  readonly endpoint: string;
  readonly bucket: string;
}

export interface S3RequestInput {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  readonly key?: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | Readable;
  readonly contentLength?: number;
  /** Collect the response body (for LIST and errors); otherwise it is drained and only counted. */
  readonly collectBody?: boolean;
  readonly timeoutMs?: number;
}

export interface S3Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer | undefined;
  readonly bodyBytes: number;
  /** From request start to response headers, ms. */
  readonly ttfbMs: number;
  /** From request start to the last body byte, ms. */
  readonly totalMs: number;
}

/** Generous: a 1 GiB PUT through a slow emulated link still finishes. */
const DEFAULT_TIMEOUT_MS = 600_000;

export class S3HttpError extends Error {
  readonly code = 'S3_HTTP_ERROR';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function s3Request(target: S3Target, input: S3RequestInput, agent: http.Agent): Promise<S3Response> {
  const url = new URL(target.endpoint);
  const path = `/${target.bucket}${input.key === undefined ? '' : `/${s3Encode(input.key, true)}`}`;
  const query = input.query ?? [];
  const search = query.map(([k, v]) => `${s3Encode(k, false)}=${s3Encode(v, false)}`).join('&');
  const headers: Record<string, string | number> = {
    ...input.headers,
    ...signRequest({ method: input.method, path, query, host: url.host }),
  };
  if (input.contentLength !== undefined) headers['content-length'] = input.contentLength;
  else if (Buffer.isBuffer(input.body)) headers['content-length'] = input.body.length;
  const started = performance.now();
  return new Promise<S3Response>((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: input.method, path: search ? `${path}?${search}` : path, headers, agent },
      (res) => {
        const ttfbMs = performance.now() - started;
        const chunks: Buffer[] = [];
        let bodyBytes = 0;
        res.on('data', (chunk: Buffer) => {
          bodyBytes += chunk.length;
          if (input.collectBody || (res.statusCode ?? 0) >= 300) chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
          const status = res.statusCode ?? 0;
          if (status >= 300) {
            reject(new S3HttpError(status, `${input.method} ${path}: HTTP ${status} ${body?.toString('utf8').slice(0, 200) ?? ''}`));
            return;
          }
          resolve({ status, headers: res.headers, body, bodyBytes, ttfbMs, totalMs: performance.now() - started });
        });
      },
    );
    req.setTimeout(input.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => req.destroy(new Error(`${input.method} ${path}: timed out`)));
    req.on('error', reject);
    if (input.body === undefined || Buffer.isBuffer(input.body)) req.end(input.body);
    else input.body.on('error', (err) => req.destroy(err)).pipe(req);
  });
}

/** Lists every key under `prefix` with ListObjectsV2 pages of up to 1,000 keys; returns keys and the page count. */
export async function listAllKeys(target: S3Target, prefix: string, agent: http.Agent): Promise<{ keys: string[]; pages: number }> {
  const { objects, pages } = await listObjects(target, prefix, agent);
  return { keys: objects.map((o) => o.key), pages };
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

/** Every object under `prefix` with its size, from ListObjectsV2 pages of up to 1,000 keys. */
export async function listObjects(target: S3Target, prefix: string, agent: http.Agent): Promise<{ objects: ListedObject[]; pages: number }> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const query: [string, string][] = [['list-type', '2'], ['prefix', prefix], ['max-keys', '1000']];
    if (token !== undefined) query.push(['continuation-token', token]);
    const res = await s3Request(target, { method: 'GET', query, collectBody: true }, agent);
    pages++;
    const xml = res.body?.toString('utf8') ?? '';
    for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const body = m[1] ?? '';
      objects.push({ key: decodeXml(/<Key>([^<]*)<\/Key>/.exec(body)?.[1] ?? ''), size: Number(/<Size>(\d+)<\/Size>/.exec(body)?.[1] ?? NaN) });
    }
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
    token = truncated ? decodeXml(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') : undefined;
    if (truncated && !token) throw new Error('LIST page is truncated but has no continuation token');
  } while (token !== undefined);
  return { objects, pages };
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
