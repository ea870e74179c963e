// Local disk: the same files on the local filesystem, read directly. With
// the page cache dropped before each epoch this is the physical limit for a
// warm epoch: a caching mount can at best match reading its cache's disk.
import type { BenchSystem, DatasetLocation, OpenView } from './system.js';

export const localSystem: BenchSystem = {
  name: 'local',
  label: 'local disk',
  role: 'limit',
  measureEveryEpoch: true,
  async openCold(ds: DatasetLocation): Promise<OpenView> {
    return { view: { kind: 'fs', root: ds.localDir, daemonPid: undefined }, close: async () => undefined };
  },
};
