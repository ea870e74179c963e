import { randomBytes } from 'node:crypto'
import t from 'tap'
import { blockHeader, CHUNK_BYTES, decodeBlock } from '../../src/cache/block-file-format.js'
import { PieceWriter } from '../../src/s3/piece-writer.js'
import { chunkChecksums } from '../../src/util/chunk-checksums.js'

const MiB = 1024 * 1024

/** Fills a writer from `body` in spans of the given sizes, alternating write() and writable()/advance() as the two readers do. */
function fill(writer: PieceWriter, body: Buffer, spans: number[]): void {
  let at = 0
  for (let i = 0; at < body.length; i++) {
    const n = Math.min(spans[i % spans.length] as number, body.length - at)
    if (i % 2 === 0) {
      writer.write(body.subarray(at, at + n))
      at += n
    } else {
      const room = writer.writable()
      const m = Math.min(n, room.length)
      body.copy(room, 0, at, at + m)
      writer.advance(m)
      at += m
    }
  }
}

t.test("a GET's pieces carry their chunks' sums, taken as they filled, equal to sums taken afresh", async t => {
  for (const [length, pieceBytes] of [
    [3 * MiB + 12_345, MiB],
    [MiB, MiB],
    [5 * CHUNK_BYTES - 1, 2 * CHUNK_BYTES],
    [1, MiB],
  ] as const) {
    const body = randomBytes(length)
    const writer = PieceWriter.forLength(length, pieceBytes, true)
    fill(writer, body, [1, 70_000, 4096, 65_536, 300_000, 17])
    t.ok(Buffer.concat(writer.pieces).equals(body), `${length}/${pieceBytes}: bytes in place`)
    for (const piece of writer.pieces) {
      const sums = chunkChecksums(piece)
      t.equal(chunkChecksums(piece), sums, 'the remembered sums (the same array each time)')
      t.same([...sums], [...chunkChecksums(Buffer.from(piece))], 'equal to sums of a copy, taken afresh')
      t.ok(decodeBlock(Buffer.concat([blockHeader(piece), piece]), piece.length).equals(piece), 'the block file it makes reads back')
    }
  }
})

t.test('a piece not yet full remembers nothing; any other buffer is summed afresh each time', async t => {
  const writer = PieceWriter.forLength(2 * MiB, MiB, true)
  writer.write(randomBytes(MiB + 3 * CHUNK_BYTES))
  t.equal(chunkChecksums(writer.pieces[0] as Buffer), chunkChecksums(writer.pieces[0] as Buffer), 'the full piece')
  t.not(chunkChecksums(writer.pieces[1] as Buffer), chunkChecksums(writer.pieces[1] as Buffer), 'the partial one')
  const other = randomBytes(MiB)
  t.not(chunkChecksums(other), chunkChecksums(other))
  const unsummed = PieceWriter.forLength(MiB, MiB)
  unsummed.write(randomBytes(MiB))
  t.not(chunkChecksums(unsummed.pieces[0] as Buffer), chunkChecksums(unsummed.pieces[0] as Buffer), 'pieces of a writer not asked to sum')
})

t.test("a block file's chunk table is the sums remembered for its piece, not sums taken again", async t => {
  const writer = PieceWriter.forLength(MiB, MiB, true)
  writer.write(randomBytes(MiB))
  const piece = writer.pieces[0] as Buffer
  const sums = chunkChecksums(piece)
  const right = sums[3] as number
  sums[3] = right ^ 1 // what a piece changed after it was summed would look like
  t.equal(blockHeader(piece).readUInt32LE(16 + 4 * 3), (right ^ 1) >>> 0, 'the header carries the remembered sum')
  t.throws(() => decodeBlock(Buffer.concat([blockHeader(piece), piece]), piece.length), /checksum/, 'and such a block file is refused when read, never served')
  sums[3] = right
})
