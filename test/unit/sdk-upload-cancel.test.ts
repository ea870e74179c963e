/**
 * A cancelled upload answers only once no request that could still create the object is
 * running (committing-requests.ts). lib-storage's abort makes `done()` reject at once while
 * its PutObject (never cancelled) or a CompleteMultipartUpload already sent keeps going;
 * a rename's delete sent after that rejection could then be overtaken by the late commit.
 * The stub store holds the committing request's answer and records when it answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { UploadAbortedError } from '../../src/errors.js'
import { withStubStore } from '../helpers/stub-store.js'

const HOLD_MS = 400
const MiB = 1024 * 1024

interface Seen {
  /** When the store sent the answer to the request that creates the object. */
  committedAt?: number
  /** When the store saw that request arrive. */
  arrived?: Promise<void>
}

function store(seen: Seen): (req: IncomingMessage, res: ServerResponse) => void {
  let arrive: () => void = () => {}
  seen.arrived = new Promise(r => (arrive = r))
  const xml = (res: ServerResponse, body: string): void => {
    res.writeHead(200, { 'content-type': 'application/xml' })
    res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`)
  }
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    req.resume()
    req.on('end', () => {
      const commits = (req.method === 'PUT' && !url.searchParams.has('partNumber')) || (req.method === 'POST' && url.searchParams.has('uploadId'))
      if (commits) {
        arrive()
        setTimeout(() => {
          seen.committedAt = performance.now()
          if (req.method === 'PUT') {
            res.writeHead(200, { etag: '"whole"' })
            res.end()
          } else xml(res, '<CompleteMultipartUploadResult><ETag>"done-2"</ETag></CompleteMultipartUploadResult>')
        }, HOLD_MS)
        return
      }
      if (req.method === 'POST' && url.searchParams.has('uploads'))
        return xml(res, '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>')
      if (req.method === 'PUT') {
        res.writeHead(200, { etag: `"p${url.searchParams.get('partNumber') ?? ''}"` })
        return res.end()
      }
      res.writeHead(204)
      res.end()
    })
  }
}

for (const [what, size] of [
  ['a PutObject', 1000],
  ['a CompleteMultipartUpload', 9 * MiB],
] as const) {
  t.test(`an upload cancelled while ${what} is running rejects only after the store answered it`, async t => {
    const dir = await mkdtemp(join(tmpdir(), 's3cachefs-cancel-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'data')
    await writeFile(file, Buffer.alloc(size, 7))
    const seen: Seen = {}
    await withStubStore(store(seen), 1, async client => {
      const cancel = new AbortController()
      const upload = client.upload({ key: 'k', filePath: file, size, signal: cancel.signal })
      const outcome = upload.then(
        () => 'resolved',
        (err: unknown) => err,
      )
      await seen.arrived
      cancel.abort()
      const err = await outcome
      const rejectedAt = performance.now()
      t.ok(err instanceof UploadAbortedError, `cancelled: ${String(err)}`)
      t.ok(seen.committedAt !== undefined && seen.committedAt <= rejectedAt, 'the store had answered the committing request first')
    })
  })
}

t.test('an upload cancelled before it starts sends nothing', async t => {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-cancel-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'data')
  await writeFile(file, 'x')
  const seen: Seen = {}
  await withStubStore(store(seen), 1, async client => {
    await t.rejects(client.upload({ key: 'k', filePath: file, size: 1, signal: AbortSignal.abort() }), UploadAbortedError)
    t.equal(seen.committedAt, undefined)
  })
})
