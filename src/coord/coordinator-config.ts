/**
 * The `--coordinator` setting, apart from the Redis client (redis-coordinator.ts), so the
 * CLI checks it without loading ioredis.
 */
import { ConfigError } from '../errors.js'

export interface CoordinatorConfig {
  /** redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT[,HOST:PORT…]. */
  readonly url: string
  /** Deadline of one command; past it, the node works alone for that decision. */
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs: number
  /** Delay between reconnection attempts while Redis is down. */
  readonly reconnectDelayMs: number
  /** Prefix of every key, so one Redis can serve several datasets and tools. */
  readonly keyPrefix: string
}

export function parseCoordinatorUrl(url: string): void {
  if (!/^redis(-cluster)?:\/\/[^/]+/.test(url) && !/^rediss:\/\/[^/]+/.test(url)) {
    throw new ConfigError(`--coordinator: '${url}' is not redis://HOST:PORT, rediss://HOST:PORT or redis-cluster://HOST:PORT[,HOST:PORT]`)
  }
}
