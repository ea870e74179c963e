/**
 * Ranged GETs against a misbehaving HTTP store (a server on 127.0.0.1:0): a body
 * that breaks off or comes short is retried with If-Match and returns exact bytes; a
 * response of another version than the one asked for is ESTALE, never data. Both
 * ways of reading a range: one buffer (getRange) and block-sized pieces (getPieces,
 * what the block reader uses).
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { NetworkError, PreconditionFailedError } from '../../src/errors.js'
import type { SdkObjectClient } from '../../src/s3/sdk-object-client.js'
import { withStubStore } from '../helpers/stub-store.js'

process.env.AWS_ACCESS_KEY_ID = 'test'
process.env.AWS_SECRET_ACCESS_KEY = 'test'

const data = randomBytes(3 * 1024 * 1024)
type Mode = 'reset' | 'short' | 'wrong-etag' | 'stall' | 'ok'
/** Ranges the store was asked for, in order ('' for none). */
const ranges: string[] = []
/** A 'stall' answer sends half its body, then the rest once this resolves. */
let stalled: Promise<void> = Promise.resolve()

async function withStore(faults: Mode[], test: (client: SdkObjectClient, requests: () => number) => Promise<void>): Promise<void> {
  let requests = 0
  ranges.length = 0
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests++
    ranges.push(req.headers.range ?? '')
    const mode = faults.shift() ?? 'ok'
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')
    const start = Number(m?.[1] ?? 0)
    const end = Number(m?.[2] ?? data.length - 1) + 1
    const body = data.subarray(start, end)
    res.writeHead(206, {
      'content-length': body.length,
      'content-range': `bytes ${start}-${end - 1}/${data.length}`,
      etag: mode === 'wrong-etag' ? '"another-version"' : '"v1"',
    })
    if (mode === 'stall') {
      res.write(body.subarray(0, body.length >> 1), () => void stalled.then(() => res.end(body.subarray(body.length >> 1))))
      return
    }
    if (mode === 'reset' || mode === 'short') {
      res.write(body.subarray(0, body.length >> 1), () => (mode === 'reset' ? res.socket?.destroy() : res.socket?.end()))
      return
    }
    res.end(body)
  }
  await withStubStore(handler, 2, client => test(client, () => requests))
}

const PIECE = 1024 * 1024

/** The range through `method`: getPieces' pieces are checked for size and joined. */
async function get(t: Test, client: SdkObjectClient, method: 'getRange' | 'getPieces', key: string, start: number, endExclusive: number): Promise<Buffer> {
  const request = { key, start, endExclusive, ifMatch: 'v1' }
  if (method === 'getRange') return client.getRange(request)
  const pieces = await client.getPieces(request, PIECE)
  pieces.forEach((p, i) => {
    if (i < pieces.length - 1) t.equal(p.length, PIECE, `piece ${i} is one block`)
    t.equal(p.byteOffset === 0 && p.length === p.buffer.byteLength, true, `piece ${i} owns its memory`)
  })
  return Buffer.concat(pieces)
}

for (const method of ['getRange', 'getPieces'] as const) {
  t.test(`${method}: a body reset mid-way is retried: exact bytes`, async t => {
    await withStore(['reset', 'reset'], async (client, requests) => {
      const got = await get(t, client, method, 'k', 1000, 1000 + 2 * 1024 * 1024)
      t.ok(got.equals(data.subarray(1000, 1000 + 2 * 1024 * 1024)))
      t.equal(requests(), 3, 'two broken bodies, then a whole one')
    })
  })

  t.test(`${method}: a body shorter than its Content-Length is retried: exact bytes`, async t => {
    await withStore(['short'], async (client, requests) => {
      const got = await get(t, client, method, 'k', 0, data.length)
      t.ok(got.equals(data))
      t.ok(requests() >= 2)
    })
  })

  t.test(`${method}: a body that keeps breaking fails as a network error, not short data`, async t => {
    await withStore(['reset', 'reset', 'reset', 'reset', 'reset', 'reset', 'reset', 'reset'], async client => {
      await t.rejects(get(t, client, method, 'k', 0, data.length), NetworkError)
    })
  })

  t.test(`${method}: another version than the one asked for is ESTALE, never data`, async t => {
    await withStore(['wrong-etag'], async client => {
      await t.rejects(get(t, client, method, 'k', 0, 4096), PreconditionFailedError)
    })
  })
}

t.test('getPieces tells each piece as soon as it is complete, before the body ends', async t => {
  let release!: () => void
  stalled = new Promise<void>(r => (release = r))
  await withStore(['stall'], async client => {
    const told: number[] = []
    const got = client.getPieces({ key: 'k', start: 0, endExclusive: 3 * PIECE, ifMatch: 'v1', onPiece: i => told.push(i) }, PIECE)
    // Half the body (1.5 pieces) is sent, then the store waits: piece 0 is complete and told.
    for (let i = 0; i < 200 && told.length === 0; i++) await new Promise(r => setTimeout(r, 10))
    t.same(told, [0], 'the first piece is told while the body is still on its way')
    release()
    const pieces = await got
    t.same(told, [0, 1, 2], 'every piece told once, in order')
    t.ok(Buffer.concat(pieces).equals(data.subarray(0, 3 * PIECE)))
  })
  stalled = Promise.resolve()
})

t.test('a body that breaks off after some pieces were told resumes from the first piece not told: exact bytes', async t => {
  await withStore(['reset', 'reset'], async (client, requests) => {
    const told = new Map<number, Buffer>()
    /** For each piece told, how many requests had been sent then. */
    const toldDuring: number[] = []
    const start = 1000
    const end = start + 3 * PIECE
    const pieces = await client.getPieces(
      {
        key: 'k',
        start,
        endExclusive: end,
        ifMatch: 'v1',
        onPiece: (i, piece) => {
          t.notOk(told.has(i), `piece ${i} told once`)
          told.set(i, piece)
          toldDuring.push(requests())
        },
      },
      PIECE,
    )
    t.ok(Buffer.concat(pieces).equals(data.subarray(start, end)), 'exact bytes')
    t.same([...told.keys()], [0, 1, 2])
    for (const [i, piece] of told) t.equal(piece, pieces[i], `piece ${i} told is the piece returned`)
    t.equal(requests(), 3, 'two broken bodies, then the rest')
    t.ok(toldDuring[0] === 1, 'a broken body still tells the pieces it completed (half of 3 pieces holds piece 0)')
    // Each retry asks only for what was not told before it.
    ranges.forEach((range, n) => {
      const kept = toldDuring.filter(r => r <= n).length
      t.equal(range, `bytes=${start + kept * PIECE}-${end - 1}`, `request ${n + 1} starts after the ${kept} pieces told before it`)
    })
  })
})

t.test('the pieces of a whole-object GET are not told before its body is checked', async t => {
  let release!: () => void
  stalled = new Promise<void>(r => (release = r))
  await withStore(['stall'], async client => {
    const told: number[] = []
    const got = client.getPieces({ key: 'k', start: 0, endExclusive: data.length, objectSize: data.length, onPiece: i => told.push(i) }, PIECE)
    await new Promise(r => setTimeout(r, 300))
    t.same(told, [], 'nothing told while the body is incomplete')
    release()
    t.ok(Buffer.concat(await got).equals(data))
    t.same(ranges, [''], 'a GET of the whole object, without a Range')
  })
  stalled = Promise.resolve()
})
