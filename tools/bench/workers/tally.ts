// What a bench worker (or one of its threads) counts while it runs a job:
// items and bytes done, errors with the first message kept, and its own
// elapsed time. Shared by the worker process and its pread threads.
import type { WorkerResult } from './jobs.js';

export class Tally {
  items = 0;
  bytes = 0;
  errors = 0;
  firstError: string | undefined;
  readonly #start = performance.now();

  fail(err: unknown): void {
    this.errors++;
    this.firstError ??= (err as Error).message;
  }

  result(extra: Partial<WorkerResult> = {}): WorkerResult {
    const r: WorkerResult = { items: this.items, bytes: this.bytes, seconds: (performance.now() - this.#start) / 1000, errors: this.errors, ...extra };
    return this.firstError === undefined ? r : { ...r, firstError: this.firstError };
  }
}

/** Sums the results of parts that ran side by side; `seconds` is the caller's own elapsed time. */
export function sumResults(parts: readonly WorkerResult[], seconds: number): WorkerResult {
  const firstError = parts.find((p) => p.firstError !== undefined)?.firstError;
  const r: WorkerResult = {
    items: parts.reduce((s, p) => s + p.items, 0),
    bytes: parts.reduce((s, p) => s + p.bytes, 0),
    seconds,
    errors: parts.reduce((s, p) => s + p.errors, 0),
  };
  return firstError === undefined ? r : { ...r, firstError };
}
