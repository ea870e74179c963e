// The emulated remote link: an HTTP reverse proxy on 127.0.0.1:0 in front of
// the local S3 server. Every system under test talks to S3 through it, so all
// of them see the same latency and bandwidth, and the harness can count what
// each one asks of S3. It adds a time to first byte per request (half before
// forwarding the request, half before releasing the response: one emulated
// round trip) and caps each client connection's bandwidth in each direction,
// like one TCP flow to S3 (~85-90 MB/s). Bodies stream through pacers; nothing
// is buffered whole. Counters live in-process and are read by the harness.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pacer, pacedStream } from './pacer.js';
import { bucketOf, classifyRequest, emptyCounts, REQUEST_TYPES, type RequestType } from './request-classifier.js';

export interface LinkOptions {
  /** Where requests go, e.g. `http://127.0.0.1:9000`. */
  readonly upstream: string;
  /** Added per request, ms. Default 20 (a same-region S3 median for small objects). */
  readonly ttfbMs: number;
  /** Per-connection cap in each direction, bytes/s. Default 80e6 (one S3 flow). */
  readonly bytesPerSecond: number;
}

export interface LinkCounters {
  readonly requests: Record<RequestType, number>;
  /**
   * The same requests by the bucket they name (path-style), so that traffic to a
   * shared-cache bucket on the same server is told apart from the origin's.
   */
  readonly requestsByBucket: Record<string, Record<RequestType, number>>;
  /** Response body bytes sent to clients, by request type. */
  readonly bytesDown: Record<RequestType, number>;
  /** Request body bytes forwarded upstream (PUT payloads). */
  readonly bytesUp: number;
  /** Requests answered with a status >= 400 by the server, or failed in the proxy. */
  readonly errors: number;
  readonly connections: number;
}

interface MutableCounters {
  requests: Record<RequestType, number>;
  requestsByBucket: Map<string, Record<RequestType, number>>;
  bytesDown: Record<RequestType, number>;
  bytesUp: number;
  errors: number;
  connections: number;
}

/** Hop-by-hop headers must not be forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];

function freshCounters(): MutableCounters {
  return { requests: emptyCounts(), requestsByBucket: new Map(), bytesDown: emptyCounts(), bytesUp: 0, errors: 0, connections: 0 };
}

export class LinkEmulator {
  readonly #server: http.Server;
  readonly #upstream: URL;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  readonly #pacers = new WeakMap<Socket, { up: Pacer; down: Pacer }>();
  #options: LinkOptions;
  #counters = freshCounters();

  private constructor(options: LinkOptions) {
    this.#options = options;
    this.#upstream = new URL(options.upstream);
    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    // One emulated flow per client connection, shared by its sequential requests.
    this.#server.on('connection', (socket: Socket) => {
      this.#counters.connections++;
      this.#pacers.set(socket, { up: new Pacer(this.#options.bytesPerSecond), down: new Pacer(this.#options.bytesPerSecond) });
    });
    this.#server.keepAliveTimeout = 60_000;
  }

  static async start(options: LinkOptions): Promise<LinkEmulator> {
    const link = new LinkEmulator(options);
    await new Promise<void>((resolve, reject) => {
      link.#server.once('error', reject);
      link.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return link;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get options(): LinkOptions {
    return this.#options;
  }

  /** A copy: later traffic does not change it. */
  counters(): LinkCounters {
    const c = this.#counters;
    const byBucket = Object.fromEntries([...c.requestsByBucket].map(([bucket, counts]) => [bucket, { ...counts }]));
    return { requests: { ...c.requests }, requestsByBucket: byBucket, bytesDown: { ...c.bytesDown }, bytesUp: c.bytesUp, errors: c.errors, connections: c.connections };
  }

  resetCounters(): void {
    this.#counters = freshCounters();
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const type = classifyRequest(req.method, req.url, req.headers.range);
    // Read the counters object once: a reset mid-request must not split one request across two phases.
    const counters = this.#counters;
    counters.requests[type]++;
    const bucket = bucketOf(req.url);
    const byBucket = counters.requestsByBucket.get(bucket) ?? emptyCounts();
    byBucket[type]++;
    counters.requestsByBucket.set(bucket, byBucket);
    const pacers = this.#pacers.get(req.socket) ?? { up: new Pacer(this.#options.bytesPerSecond), down: new Pacer(this.#options.bytesPerSecond) };
    const halfRttMs = this.#options.ttfbMs / 2;
    this.#forward(req, res, type, counters, pacers, halfRttMs).catch(() => {
      counters.errors++;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  }

  async #forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    type: RequestType,
    counters: MutableCounters,
    pacers: { up: Pacer; down: Pacer },
    halfRttMs: number,
  ): Promise<void> {
    if (halfRttMs > 0) await sleep(halfRttMs);
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const upstreamReq = http.request({
      host: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.#agent,
    });
    // A client that goes away must not leave the server streaming into nothing.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    const upstreamRes = await new Promise<http.IncomingMessage>((resolve, reject) => {
      upstreamReq.once('response', resolve);
      upstreamReq.once('error', reject);
      if (!hasBody(req)) {
        // Most S3 traffic (GET, HEAD, LIST) has no request body: skip the upload pacer and its per-request cost.
        req.resume();
        upstreamReq.end();
        return;
      }
      pipeline(req, pacedStream(pacers.up, (n) => (counters.bytesUp += n)), upstreamReq, (err) => {
        if (err) reject(err);
      });
    });
    if (halfRttMs > 0) await sleep(halfRttMs);
    const status = upstreamRes.statusCode ?? 502;
    if (status >= 400) counters.errors++;
    const outHeaders = { ...upstreamRes.headers };
    for (const name of HOP_BY_HOP) delete outHeaders[name];
    res.writeHead(status, outHeaders);
    await new Promise<void>((resolve, reject) => {
      pipeline(upstreamRes, pacedStream(pacers.down, (n) => (counters.bytesDown[type] += n)), res, (err) => (err ? reject(err) : resolve()));
    });
  }
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Totals over all request types, for reports. */
export function totalRequests(c: LinkCounters): number {
  return REQUEST_TYPES.reduce((sum, t) => sum + c.requests[t], 0);
}

/** One bucket's requests by type (all zero when it saw none). */
export function bucketRequests(c: LinkCounters, bucket: string): Record<RequestType, number> {
  return { ...emptyCounts(), ...c.requestsByBucket[bucket] };
}

export function totalBytesDown(c: LinkCounters): number {
  return REQUEST_TYPES.reduce((sum, t) => sum + c.bytesDown[t], 0);
}
