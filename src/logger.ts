/**
 * The pino root logger: structured, one event per line, quiet by default (warn).
 * Components log through children (`{ component: 's3' }`); credentials are redacted.
 */
import { pino, type Logger } from 'pino'

export function createLogger(level: string, fd = 2): Logger {
  const destination = pino.destination({ fd, sync: false })
  // A log on a full disk must not take the mount down: drop what cannot be written.
  destination.on('error', () => {})
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: ['*.accessKeyId', '*.secretAccessKey', '*.sessionToken', 'credentials'],
    },
    destination,
  )
}
