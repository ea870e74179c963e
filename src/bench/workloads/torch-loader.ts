// The PyTorch variant of the loader: torchvision's ImageFolder over the
// mount and a DataLoader with P workers and batch B, one pass per epoch with
// the page cache dropped before each, timing the same fake training step.
// Images are loaded as raw bytes (not decoded) so the number compares with
// the Node loader's and measures storage, not this machine's JPEG decoder.
// Runs only where `import torch, torchvision` works; otherwise it is skipped
// with a note in the report.
import { execFile, spawnSync } from 'node:child_process';
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

def raw_bytes(path):
    with open(path, 'rb') as f:
        return len(f.read())

ds = ImageFolder(root, loader=raw_bytes)
g = torch.Generator()
g.manual_seed(seed)
dl = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, generator=g, persistent_workers=False)
n = 0
t0 = time.monotonic()
for sizes, _labels in dl:
    n += len(sizes)
    if step > 0:
        time.sleep(step)
print(f"{n} {time.monotonic() - t0:.6f}")
`;

export function torchAvailable(): { ok: boolean; note: string } {
  const r = spawnSync('python3', ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { ok: true, note: `torch ${r.stdout.trim()}` };
  const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
  return { ok: false, note: `PyTorch variant skipped: python3 cannot import torch/torchvision (${why})` };
}

export async function runTorchLoader(system: BenchSystem, ds: DatasetLocation, ctx: RunContext): Promise<TorchResult> {
  const opened = await system.openCold(ds, ctx.system);
  try {
    if (opened.view.kind !== 'fs') return { ran: false, note: 'not a filesystem view' };
    const epochs: { epoch: number; imagesPerSecond: number; seconds: number }[] = [];
    for (let e = 1; e <= ctx.epochs; e++) {
      dropPageCache();
      const args = ['-c', SCRIPT, opened.view.root, String(ctx.workers), String(ctx.batch), String(ctx.stepSeconds), String(ctx.seed + e)];
      const out = await execFileAsync('python3', args, { timeout: ctx.phaseTimeoutMs, maxBuffer: 1 << 20 });
      const [n, s] = out.stdout.trim().split(/\s+/).map(Number);
      if (n === undefined || s === undefined || !(s > 0)) throw new Error(`unexpected output: ${out.stdout.slice(0, 200)}`);
      epochs.push({ epoch: e, imagesPerSecond: n / s, seconds: s });
      ctx.log(`  ${system.label}: torch epoch ${e}: ${fmt(n / s)} images/s`);
    }
    return { ran: true, note: 'DataLoader + ImageFolder, raw-bytes loader', epochs };
  } finally {
    await opened.close();
  }
}
