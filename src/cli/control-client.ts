/** Talks to a running daemon's control socket, found from its mount point. */
import { request } from 'node:http'
import { resolve } from 'node:path'
import { MountPointError, UnexpectedResponseError } from '../errors.js'
import { CONTROL_ROUTES, type ControlRouteName } from '../daemon/control-api.js'
import { controlSocketPath } from '../daemon/runtime-state.js'

/** A daemon that does not answer a quick request within this is stuck. */
const CONTROL_TIMEOUT_MS = 30_000

/**
 * One request to the daemon of `mountPoint`, on a route named in control-api.ts. `timeoutMs: 0` waits as long as the daemon
 * works on it (flush: the daemon's own upload deadlines bound it); the socket closing
 * (a daemon gone) still ends it at once.
 */
export async function controlRequest(mountPoint: string, route: ControlRouteName, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<unknown> {
  const mp = resolve(mountPoint)
  const socketPath = controlSocketPath(mp)
  const timeout = opts.timeoutMs ?? CONTROL_TIMEOUT_MS
  const [method, path] = CONTROL_ROUTES[route].split(' ') as [string, string]
  return new Promise((resolvePromise, reject) => {
    // A connection of its own (agent: false): Node's global agent destroys a socket idle for 5 s,
    // which failed every flush (and unmount) whose uploads took longer.
    const req = request(
      { socketPath, method, path, agent: false, headers: { 'content-type': 'application/json' }, ...(timeout > 0 ? { timeout } : {}) },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            return reject(new UnexpectedResponseError(`daemon of ${mp} answered non-JSON`))
          }
          if (res.statusCode !== 200) {
            const msg = (parsed as { error?: string }).error ?? `status ${res.statusCode}`
            return reject(new UnexpectedResponseError(msg))
          }
          return resolvePromise(parsed)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new MountPointError(`${mp} is not an s3cachefs mount (no control socket)`))
      else if (err.code === 'ECONNREFUSED') reject(new MountPointError(`the s3cachefs daemon of ${mp} is gone; run 's3cachefs unmount ${mp}'`))
      else reject(new UnexpectedResponseError(`cannot reach the daemon of ${mp}: ${err.message}`))
    })
    if (body !== undefined) req.write(JSON.stringify(body))
    req.end()
  })
}
