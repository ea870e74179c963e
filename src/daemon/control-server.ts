/**
 * The daemon's local control endpoint: HTTP over a Unix socket (mode 0600, one per
 * mount, next to the daemon record) that the CLI finds from the mount point.
 * It serves the routes it is given (control-routes.ts: one handler per route of control-api.ts).
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Logger } from 'pino'

export type Route = (req: IncomingMessage) => Promise<unknown>

export class ControlServer {
  readonly #socketPath: string
  readonly #routes: ReadonlyMap<string, Route>
  readonly #log: Logger
  #server: Server | undefined

  constructor(socketPath: string, routes: ReadonlyMap<string, Route>, log: Logger) {
    this.#socketPath = socketPath
    this.#routes = routes
    this.#log = log
  }

  async start(): Promise<void> {
    await rm(this.#socketPath, { force: true })
    const server = createServer((req, res) => this.#handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#socketPath, () => resolve())
    })
    await chmod(this.#socketPath, 0o600)
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
    await rm(this.#socketPath, { force: true })
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const route = this.#routes.get(`${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0] ?? '/'}`)
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }))
      return
    }
    route(req).then(
      body => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: unknown) => {
        this.#log.warn({ err, url: req.url }, 'control request failed')
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }))
      },
    )
  }
}

const MAX_BODY_BYTES = 1024 * 1024 // control requests are tiny; refuse anything larger

/** The request body as JSON ({} when empty). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new Error('control request too large')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  return text === '' ? {} : (JSON.parse(text) as unknown)
}
