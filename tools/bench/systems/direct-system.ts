// Direct GETs: the workload's objects fetched with plain signed GETs through
// the emulated link at the same concurrency as the loader, with no
// filesystem in between. This is the limit for a cold epoch: what the link
// and the server deliver to a client that already knows every key. For
// shards it is parallel 8 MiB ranged GETs, as a well-tuned client reads.
import type { BenchSystem, DatasetLocation, OpenView, SystemContext } from './system.js';

export const directSystem: BenchSystem = {
  name: 'direct',
  label: 'direct GETs',
  role: 'limit',
  measureEveryEpoch: false,
  readOnly: true,
  async openCold(ds: DatasetLocation, ctx: SystemContext): Promise<OpenView> {
    return { view: { kind: 'http', endpoint: ctx.link.endpoint, bucket: ds.bucket, prefix: ds.prefix }, close: async () => undefined };
  },
};
