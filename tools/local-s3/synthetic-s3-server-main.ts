/**
 * Entry point of the synthetic S3 server process (synthetic-s3-server.ts), for the
 * benchmark and by hand:
 *
 *   node tools/dist/tools/local-s3/synthetic-s3-server-main.js --bucket synth --objects 1281167 \
 *     --per-directory 1300 --min-bytes 1024 --max-bytes 4096 [--port 9100] [--latency-ms 0]
 *
 * Prints one JSON line when listening: {"event":"ready","endpoint":…,"port":…}.
 * SIGTERM/SIGINT stop it; so does its stdin closing (the parent went away).
 */
import { parseArgs } from 'node:util'
import { startSyntheticS3Server } from './synthetic-s3-server.js'

const { values } = parseArgs({
  options: {
    'bucket': { type: 'string', default: 'synth' },
    'objects': { type: 'string', default: '1281167' },
    'per-directory': { type: 'string', default: '1300' },
    'prefix': { type: 'string', default: 'train/' },
    'min-bytes': { type: 'string', default: '1024' },
    'max-bytes': { type: 'string', default: '4096' },
    'seed': { type: 'string', default: '1' },
    'port': { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '0' },
  },
})
const server = await startSyntheticS3Server({
  bucket: values.bucket, objects: Number(values.objects), perDirectory: Number(values['per-directory']),
  prefix: values.prefix, minBytes: Number(values['min-bytes']), maxBytes: Number(values['max-bytes']),
  seed: Number(values.seed), port: Number(values.port), latencyMs: Number(values['latency-ms']),
})
const stop = () => { server.stop().then(() => process.exit(0), () => process.exit(1)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop).on('error', stop).resume()
process.stdout.write(JSON.stringify({ event: 'ready', endpoint: server.endpoint, port: server.port, objects: server.namespace.objects }) + '\n')
