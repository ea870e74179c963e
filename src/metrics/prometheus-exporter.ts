/**
 * `--metrics-port PORT`: the figures of `s3cachefs stats` as Prometheus metrics
 * (prom-client) on http://127.0.0.1:PORT/metrics. The only prom-client import.
 *
 * Counters and gauges are read from one StatsSnapshot per scrape, so the
 * endpoint and `stats` always agree; S3 latency is a real histogram, fed by
 * `observe` for every request (a RequestMetrics observer: measured once, by MeteredClient). Names follow
 * Prometheus conventions: `s3cachefs_` prefix, base units, `_total` counters.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { S3_LATENCY_BUCKETS_SECONDS } from '../config/defaults.js'
import type { StatsSnapshot } from '../daemon/stats-snapshot.js'
import type { RequestKind } from '../s3/request-metrics.js'
import type { MetricDefiner, Sample } from './metric-definer.js'
import { defineReadMetrics } from './read-metrics.js'
import { defineWorkMetrics } from './work-metrics.js'

export class PrometheusExporter {
  readonly #registry = new Registry()
  readonly #snapshot: () => StatsSnapshot
  readonly #latency: Histogram<'kind'>
  #current: StatsSnapshot | undefined
  #server: Server | undefined

  constructor(snapshot: () => StatsSnapshot) {
    this.#snapshot = snapshot
    collectDefaultMetrics({ register: this.#registry, prefix: 's3cachefs_' })
    this.#latency = new Histogram({
      name: 's3cachefs_s3_request_duration_seconds',
      help: 'Duration of S3 requests, retries included',
      labelNames: ['kind'],
      buckets: S3_LATENCY_BUCKETS_SECONDS,
      registers: [this.#registry],
    })
    this.#define()
  }

  /** Records one S3 request in the latency histogram, labelled with its kind as in `stats`. */
  readonly observe = (kind: RequestKind, seconds: number): void => {
    this.#latency.observe({ kind }, seconds)
  }

  /** Listens on host:port (0 picks a free port); resolves with the URL of /metrics. */
  async start(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found\n')
        return
      }
      this.render().then(
        text => res.writeHead(200, { 'content-type': this.#registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    this.#server = server
    return `http://${host}:${(server.address() as AddressInfo).port}/metrics`
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** The exposition text, from a fresh snapshot. */
  async render(): Promise<string> {
    this.#current = this.#snapshot()
    try {
      return await this.#registry.metrics()
    } finally {
      this.#current = undefined
    }
  }

  #define(): void {
    const s = () => this.#current ?? this.#snapshot()
    const d: MetricDefiner = { counter: (...a) => this.#counter(...a), gauge: (...a) => this.#gauge(...a) }
    defineReadMetrics(d, s)
    defineWorkMetrics(d, s)
  }

  #counter(name: string, help: string, labelNames: string[], samples: () => Sample[]): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [labels, v] of samples()) this.inc(labels, v)
      },
    })
  }

  #gauge(name: string, help: string, labelNames: string[], samples: () => Sample[]): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [labels, v] of samples()) this.set(labels, v)
      },
    })
  }
}
