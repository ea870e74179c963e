/**
 * The pino root logger: structured, one event per line, quiet by default (warn).
 * Components log through children (`{ component: 's3' }`); credentials are redacted.
 */
import { pino, type Logger } from 'pino'

export function createLogger(level: string, fd = 2): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: ['*.accessKeyId', '*.secretAccessKey', '*.sessionToken', 'credentials'],
  }, pino.destination({ fd, sync: false }))
}
