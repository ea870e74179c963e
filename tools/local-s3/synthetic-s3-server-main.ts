/**
 * Entry point of the synthetic S3 server process (synthetic-s3-server.ts), for the
 * benchmark and by hand:
 *
 *   node tools/dist/tools/local-s3/synthetic-s3-server-main.js --bucket synth --objects 1281167 \
 *     --per-directory 1300 --min-bytes 1024 --max-bytes 4096 [--port 9100] [--latency-ms 0] [--jpeg]
 *
 * `--jpeg`: the objects are decodable JPEGs named `…/img_N.JPEG` (SyntheticJpegNamespace,
 * from 32 base images encoded once with jpeg-js), for loaders that decode what they read.
 *
 * Prints one JSON line when listening: {"event":"ready","endpoint":…,"port":…}.
 * SIGTERM/SIGINT stop it; so does its stdin closing (the parent went away).
 */
import { parseArgs } from 'node:util'
import { makeBaseImages } from '../bench/dataset/jpeg-synth.js'
import { SyntheticJpegNamespace } from './synthetic-jpeg-namespace.js'
import { startSyntheticS3Server } from './synthetic-s3-server.js'

const { values } = parseArgs({
  options: {
    bucket: { type: 'string', default: 'synth' },
    objects: { type: 'string', default: '1281167' },
    'per-directory': { type: 'string', default: '1300' },
    prefix: { type: 'string', default: 'train/' },
    'min-bytes': { type: 'string', default: '1024' },
    'max-bytes': { type: 'string', default: '4096' },
    seed: { type: 'string', default: '1' },
    port: { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '0' },
    jpeg: { type: 'boolean', default: false },
  },
})
const shape = {
  objects: Number(values.objects),
  perDirectory: Number(values['per-directory']),
  prefix: values.prefix,
  minBytes: Number(values['min-bytes']),
  maxBytes: Number(values['max-bytes']),
  seed: Number(values.seed),
}
const server = await startSyntheticS3Server({
  ...shape,
  bucket: values.bucket,
  port: Number(values.port),
  latencyMs: Number(values['latency-ms']),
  ...(values.jpeg ? { namespace: new SyntheticJpegNamespace(shape, makeBaseImages(shape.seed)) } : {}),
})
const stop = () => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop).on('error', stop).resume()
process.stdout.write(JSON.stringify({ event: 'ready', endpoint: server.endpoint, port: server.port, objects: server.namespace.objects }) + '\n')
