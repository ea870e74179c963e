// Brings up what every system is measured against, in order: checks that the
// page cache can be dropped, starts the local S3 server, makes sure the
// datasets are generated and uploaded (once per parameter set), and starts the
// emulated link in front of the server. Each piece is registered with the
// cleanup stack the moment it exists.
import { join } from 'node:path';
import { prepareDatasets, type PreparedDatasets } from '../dataset/prepare.js';
import { LinkEmulator } from '../link/link-emulator.js';
import type { BenchOptions } from '../options.js';
import type { Cleanup } from './cleanup.js';
import { dropPageCache } from './page-cache.js';
import { startS3Server, type RunningS3Server } from './s3-server.js';
import { startSyntheticStore, syntheticDatasets } from './synthetic-store.js';

export interface BenchEnvironment {
  readonly server: RunningS3Server;
  readonly data: PreparedDatasets;
  readonly link: LinkEmulator;
  readonly pageCache: { readonly dropped: boolean; readonly note: string };
  /** Things the report must say about the environment. */
  readonly notes: string[];
}

export async function startEnvironment(opts: BenchOptions, cacheDir: string, cleanup: Cleanup, log: (line: string) => void): Promise<BenchEnvironment> {
  const notes: string[] = [];
  const drop = dropPageCache();
  const note = drop.dropped
    ? 'dropped before every measured phase (sync; echo 3 > /proc/sys/vm/drop_caches)'
    : `could NOT be dropped (${drop.reason ?? '?'}): warm numbers include the page cache`;
  log(`page cache: ${note}`);

  if (opts.store === 'synthetic') return syntheticEnvironment(opts, cacheDir, cleanup, log, { dropped: drop.dropped, note });
  const server = await startS3Server(join(cacheDir, 's3'));
  cleanup.add('S3 server', () => server.stop());
  log(`S3 server (${server.flavour}) on ${server.endpoint}, data in ${server.directory}${server.pid === undefined ? ' (pid not found: no server CPU numbers)' : ''}`);
  if (server.pid === undefined) notes.push('The S3 server process was not found in /proc: its CPU seconds are missing.');

  const skip = new Set(opts.skip);
  const data = await prepareDatasets(
    { seed: opts.seed, imageFiles: opts.files, shardBytes: opts.shardBytes, metadataObjects: opts.metadataObjects },
    cacheDir,
    server.endpoint,
    {
      shard: !skip.has('shard'),
      metadata: !skip.has('metadata'),
      writes: skip.has('writes') ? undefined : { checkpointBytes: opts.checkpointBytes, smallFiles: opts.smallFiles },
    },
    log,
  );
  const d = data.summary;
  const extras = [
    skip.has('shard') ? '' : `, shard ${d.shardBytes >> 20} MiB`,
    skip.has('metadata') ? '' : `, ${d.metadataObjects} metadata objects`,
    skip.has('writes') ? '' : `, writes: ${opts.checkpointBytes >> 20} MiB checkpoint and ${opts.smallFiles} small files`,
  ].join('');
  log(`datasets ready: ${d.imageFiles} images (${(d.imageBytes / 1e6).toFixed(0)} MB)${extras}`);

  const link = await LinkEmulator.start({ upstream: server.endpoint, ttfbMs: opts.ttfbMs, bytesPerSecond: opts.megabytesPerSecond * 1e6 });
  cleanup.add('emulated link', () => link.close());
  log(`emulated link on ${link.endpoint}: +${opts.ttfbMs} ms TTFB, ${opts.megabytesPerSecond} MB/s per connection`);
  return { server, data, link, pageCache: { dropped: drop.dropped, note }, notes };
}

/** `--store synthetic`: the synthetic S3 server's JPEG namespace, behind the same emulated link. */
async function syntheticEnvironment(
  opts: BenchOptions,
  cacheDir: string,
  cleanup: Cleanup,
  log: (line: string) => void,
  pageCache: BenchEnvironment['pageCache'],
): Promise<BenchEnvironment> {
  const params = { seed: opts.seed, imageFiles: opts.files, localCopy: opts.systems.some((s) => s === 'local' || s === 'passthrough') };
  const server = await startSyntheticStore(params);
  cleanup.add('synthetic S3 server', () => server.stop());
  log(`synthetic S3 server on ${server.endpoint}: ${opts.files} generated JPEGs`);
  const data = await syntheticDatasets(params, cacheDir, log);
  const link = await LinkEmulator.start({ upstream: server.endpoint, ttfbMs: opts.ttfbMs, bytesPerSecond: opts.megabytesPerSecond * 1e6 });
  cleanup.add('emulated link', () => link.close());
  log(`emulated link on ${link.endpoint}: +${opts.ttfbMs} ms TTFB, ${opts.megabytesPerSecond} MB/s per connection`);
  const notes = [
    `Store: the synthetic S3 server (--store synthetic: generated JPEGs, ~0.1 ms of server CPU per GET, against ~2 ms for s3rver), behind the same emulated link; every number in this report comes from it. Shard, metadata, writes and nodes are not run on it. The link's MB/s per connection was probed with a ~110 KB image, not a large object.`,
  ];
  return { server, data, link, pageCache, notes };
}
