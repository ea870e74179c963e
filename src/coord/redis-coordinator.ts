/**
 * The optional cross-node coordinator (`--coordinator redis://HOST:PORT`, or
 * `redis-cluster://HOST:PORT[,HOST:PORT…]` for Redis Cluster). The only ioredis import.
 *
 * It serves two neighbours: the shared tier's block leases (`BlockLeases`: SET NX PX,
 * see src/cache/shared-tier.ts) and the shared listing manifest
 * (src/coord/shared-listing-client.ts: short texts with an expiry).
 *
 * Redis down or slow means every node works alone, never a failed read: commands
 * are not queued while disconnected (they fail at once), each has a deadline
 * (`commandTimeoutMs`), and every failure answers the neutral value ('alone', 'none',
 * undefined). The connection is retried in the background; a change of state
 * (down, up again) is logged once, not per command.
 */
import { Cluster, Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { BlockLeases } from '../cache/shared-tier.js'
import { parseCoordinatorUrl, type CoordinatorConfig } from './coordinator-config.js'

export interface CoordinatorStats {
  readonly connected: boolean
  readonly commands: number
  /** Commands that failed or timed out (each answered as if alone). */
  readonly errors: number
}

/** Consecutive failed commands after which the coordinator is skipped for a while (a slow Redis costs every read)... */
const FAILURES_TO_PAUSE = 3
/** ...for this long; then one command tries again. */
const PAUSE_MS = 5000

const FETCHING = 'fetching'
const DONE = 'done'

export class RedisCoordinator implements BlockLeases {
  readonly #redis: Redis | Cluster
  readonly #log: Logger
  #connected = false
  #warnedDown = false
  #commands = 0
  #errors = 0
  #failStreak = 0
  #pausedUntilMs = 0

  constructor(config: CoordinatorConfig, log: Logger) {
    parseCoordinatorUrl(config.url)
    this.#log = log
    const common = {
      keyPrefix: config.keyPrefix,
      commandTimeout: config.commandTimeoutMs,
      connectTimeout: config.connectTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => config.reconnectDelayMs,
    }
    if (config.url.startsWith('redis-cluster://')) {
      const nodes = config.url
        .slice('redis-cluster://'.length)
        .split(',')
        .map(hp => {
          const [host, port] = hp.split(':')
          return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) }
        })
      this.#redis = new Cluster(nodes, { redisOptions: common, enableOfflineQueue: false, clusterRetryStrategy: () => config.reconnectDelayMs })
    } else {
      this.#redis = new Redis(config.url, common)
    }
    this.#redis.on('ready', () => {
      if (!this.#connected && this.#warnedDown) this.#log.warn('coordinator reachable again')
      this.#connected = true
      this.#warnedDown = false
    })
    this.#redis.on('error', (err: Error) => this.#down(err))
    this.#redis.on('close', () => this.#down(undefined))
  }

  /** Connects; at mount, an unreachable coordinator is one warning line and the mount goes on. */
  async start(): Promise<boolean> {
    try {
      await this.#redis.connect()
      return true
    } catch (err) {
      this.#down(err as Error)
      return false
    }
  }

  async claim(name: string, ttlMs: number): Promise<'claimed' | 'fetching' | 'done' | 'alone'> {
    const set = await this.#run(() => this.#redis.set(name, FETCHING, 'PX', ttlMs, 'NX'), undefined)
    if (set === 'OK') return 'claimed'
    if (set === undefined) return 'alone'
    const state = await this.state(name)
    // Expired between the SET and the GET: nobody fetches it now; fetch it without a lease.
    return state === 'none' ? 'alone' : state
  }

  async state(name: string): Promise<'fetching' | 'done' | 'none'> {
    const v = await this.#run(() => this.#redis.get(name), null)
    return v === FETCHING ? 'fetching' : v === DONE ? 'done' : 'none'
  }

  async markDone(name: string, ttlMs: number): Promise<void> {
    await this.#run(() => this.#redis.set(name, DONE, 'PX', ttlMs), undefined)
  }

  async drop(name: string): Promise<void> {
    await this.#run(() => this.#redis.del(name), 0)
  }

  async getText(name: string): Promise<string | undefined> {
    return (await this.#run(() => this.#redis.get(name), null)) ?? undefined
  }

  async setText(name: string, value: string, ttlMs: number): Promise<void> {
    await this.#run(() => this.#redis.set(name, value, 'PX', Math.max(1, Math.round(ttlMs))), undefined)
  }

  async deleteKeys(names: readonly string[]): Promise<void> {
    if (names.length > 0) await this.#run(() => Promise.all(names.map(n => this.#redis.del(n))), undefined)
  }

  stats(): CoordinatorStats {
    return { connected: this.#connected, commands: this.#commands, errors: this.#errors }
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false)
  }

  /** Runs one command; on any failure answers `fallback` (work alone). */
  async #run<T, F>(command: () => Promise<T>, fallback: F): Promise<T | F> {
    this.#commands++
    if (!this.#connected || Date.now() < this.#pausedUntilMs) {
      this.#errors++
      return fallback
    }
    try {
      const v = await command()
      this.#failStreak = 0
      return v
    } catch (err) {
      this.#errors++
      if (++this.#failStreak >= FAILURES_TO_PAUSE) {
        this.#failStreak = 0
        this.#pausedUntilMs = Date.now() + PAUSE_MS
        this.#log.warn({ err }, `coordinator failing or slow; working alone for ${PAUSE_MS / 1000}s`)
      } else this.#log.debug({ err }, 'coordinator command failed; working alone for it')
      return fallback
    }
  }

  #down(err: Error | undefined): void {
    this.#connected = false
    if (this.#warnedDown) return
    this.#warnedDown = true
    this.#log.warn({ err }, 'coordinator unreachable; every node works alone until it answers')
  }
}
