/**
 * An SdkObjectClient against a stub HTTP store on 127.0.0.1:0 (unit tests of the S3 layer):
 * starts the server with `handler`, runs `use` with a path-style client, closes both.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SdkObjectClient } from '../../src/s3/sdk-object-client.js'

export async function withStubStore(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  maxAttempts: number,
  use: (client: SdkObjectClient) => Promise<void>,
): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test'
  const server = createServer(handler)
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  const client = new SdkObjectClient({
    bucket: 'b',
    region: 'us-east-1',
    endpointUrl: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    maxSockets: 8,
    maxAttempts,
    connectTimeoutMs: 1000,
    requestDeadlineMs: 10_000,
  })
  try {
    await use(client)
  } finally {
    server.closeAllConnections()
    await new Promise(r => server.close(r))
  }
}
