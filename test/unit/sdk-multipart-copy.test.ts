/**
 * A server-side copy of an object over 5 GiB (UploadPartCopy parts) against a fake store on
 * 127.0.0.1:0: the new object carries the source's user metadata and Content-Type (a rename
 * or chmod of a large file must not reset its type), or those the caller gives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import type { SdkObjectClient } from '../../src/s3/sdk-object-client.js'
import { withStubStore } from '../helpers/stub-store.js'

process.env.AWS_ACCESS_KEY_ID = 'test'
process.env.AWS_SECRET_ACCESS_KEY = 'test'

const SIZE = 6 * 1024 * 1024 * 1024

/** The headers each CreateMultipartUpload was sent with. */
async function withStore(test: (client: SdkObjectClient, created: IncomingMessage['headers'][]) => Promise<void>): Promise<void> {
  const created: IncomingMessage['headers'][] = []
  const xml = (res: ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'application/xml' })
    res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`)
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x')
    req.resume()
    req.on('end', () => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'text/csv', etag: '"src"', 'x-amz-meta-mode': '33188' })
        return res.end()
      }
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        created.push(req.headers)
        return xml(res, '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>')
      }
      if (req.method === 'PUT' && url.searchParams.has('partNumber')) return xml(res, '<CopyPartResult><ETag>"p"</ETag></CopyPartResult>')
      if (req.method === 'POST' && url.searchParams.has('uploadId'))
        return xml(res, '<CompleteMultipartUploadResult><ETag>"done-12"</ETag></CompleteMultipartUploadResult>')
      res.writeHead(400)
      res.end()
    })
  }
  await withStubStore(handler, 1, client => test(client, created))
}

t.test("a copy over 5 GiB keeps the source's Content-Type and user metadata", async t => {
  await withStore(async (client, created) => {
    t.equal(await client.copy('big.csv', 'moved.csv', SIZE), 'done-12')
    t.same([created[0]?.['content-type'], created[0]?.['x-amz-meta-mode']], ['text/csv', '33188'])
  })
})

t.test('a copy over 5 GiB with replaced metadata stores the Content-Type given', async t => {
  await withStore(async (client, created) => {
    await client.copy('big.csv', 'big.csv', SIZE, { mode: '33261' }, 'text/plain')
    t.same([created[0]?.['content-type'], created[0]?.['x-amz-meta-mode']], ['text/plain', '33261'])
  })
})
