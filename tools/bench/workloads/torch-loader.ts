// The PyTorch variant of the loader: torchvision's ImageFolder over the
// mount and a DataLoader with P workers and batch B, one pass per epoch with
// the page cache dropped before each, timing the same fake training step.
// Images are loaded as raw bytes (not decoded) so the number compares with
// the Node loader's and measures storage, not this machine's JPEG decoder.
// On s3cachefs it runs a second time from a cold cache with the repository's
// `AnnouncingSampler` (python/), which announces each epoch's order to the
// mount. Runs with Debian's python3 (python3-torch, python3-torchvision) where
// `import torch, torchvision` works; otherwise it is skipped with a note.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dropPageCache } from '../env/page-cache.js';
import type { TorchResult } from '../results.js';
import type { BenchSystem, DatasetLocation } from '../systems/system.js';
import { fmt, type RunContext } from './run-context.js';

const execFileAsync = promisify(execFile);

const SCRIPT = String.raw`
import sys, time
import torch
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

root, workers, batch, step, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
announce = len(sys.argv) > 6

def raw_bytes(path):
    with open(path, 'rb') as f:
        return len(f.read())

ds = ImageFolder(root, loader=raw_bytes)
g = torch.Generator()
g.manual_seed(seed)
if announce:
    sys.path.insert(0, sys.argv[6])
    from s3cachefs import AnnouncingSampler
    sampler = AnnouncingSampler(torch.utils.data.RandomSampler(ds, generator=g), ds)
    dl = DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers, persistent_workers=False)
else:
    dl = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, generator=g, persistent_workers=False)
n = 0
t0 = time.monotonic()
for sizes, _labels in dl:
    n += len(sizes)
    if step > 0:
        time.sleep(step)
print(f"{n} {time.monotonic() - t0:.6f}")
`;

/** Debian's interpreter, where python3-torch installs (a pyenv or venv python3 on PATH has no torch). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

type TorchEpoch = { epoch: number; imagesPerSecond: number; seconds: number };

export function torchAvailable(): { ok: boolean; note: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { ok: true, note: `torch ${r.stdout.trim()}` };
  const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
  return { ok: false, note: `PyTorch variant skipped: ${PYTHON} cannot import torch/torchvision (${why}; apt-get install python3-torch python3-torchvision)` };
}

export async function runTorchLoader(system: BenchSystem, ds: DatasetLocation, ctx: RunContext): Promise<TorchResult> {
  const epochs = await torchEpochs(system, ds, ctx, false);
  if (epochs === undefined) return { ran: false, note: 'not a filesystem view' };
  // The sampler announces to an s3cachefs mount; other systems have nothing to announce to.
  const samplerEpochs = system.name === 's3cachefs' ? await torchEpochs(system, ds, ctx, true) : undefined;
  return { ran: true, note: 'DataLoader + ImageFolder, raw-bytes loader', epochs, ...(samplerEpochs === undefined ? {} : { samplerEpochs }) };
}

/** Epochs from a cold start (a fresh mount and cache), with or without the announcing sampler. */
async function torchEpochs(system: BenchSystem, ds: DatasetLocation, ctx: RunContext, announce: boolean): Promise<TorchEpoch[] | undefined> {
  const opened = await system.openCold(ds, ctx.system);
  try {
    if (opened.view.kind !== 'fs') return undefined;
    const epochs: TorchEpoch[] = [];
    const env = { ...process.env, S3CACHEFS_BIN: `${process.execPath} ${join(ctx.system.repoRoot, 'dist', 'cli.js')}` };
    for (let e = 1; e <= ctx.epochs; e++) {
      dropPageCache();
      const args = ['-c', SCRIPT, opened.view.root, String(ctx.workers), String(ctx.batch), String(ctx.stepSeconds), String(ctx.seed + e)];
      if (announce) args.push(join(ctx.system.repoRoot, 'python'));
      const out = await execFileAsync(PYTHON, args, { timeout: ctx.phaseTimeoutMs, maxBuffer: 1 << 20, env });
      const [n, s] = out.stdout.trim().split(/\s+/).map(Number);
      if (n === undefined || s === undefined || !(s > 0)) throw new Error(`unexpected output: ${out.stdout.slice(0, 200)}`);
      epochs.push({ epoch: e, imagesPerSecond: n / s, seconds: s });
      ctx.log(`  ${system.label}: torch epoch ${e}${announce ? ' (announcing sampler)' : ''}: ${fmt(n / s)} images/s`);
    }
    return epochs;
  } finally {
    await opened.close();
  }
}
