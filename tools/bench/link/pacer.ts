// Bandwidth pacing for the emulated link: a token bucket written as a
// virtual clock (GCRA). Each connection direction owns one Pacer; sending n
// bytes advances the clock by n / rate, and the sender waits only when it is
// more than BURST_MS ahead of real time. The long-run rate is therefore exact
// whatever the timer resolution (as long as wake-ups are less than BURST_MS
// late; a starved process delivers less, which calibration reports), and
// chunks are never buffered beyond the one being paced (the Transform's callback is what applies backpressure).
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Allowed lead over real time before waiting, ms. It must exceed the timer
 * lateness of a busy 2-core machine (a few ms), or every late wake-up loses
 * time the virtual clock never gives back. 5 ms at 80 MB/s is 400 KB, about
 * what one TCP window carries on a 20 ms path anyway.
 */
const BURST_MS = 5;

export class Pacer {
  readonly #bytesPerMs: number;
  #nextFreeMs = 0;

  /** @param bytesPerSecond cap for this direction; Infinity disables pacing */
  constructor(bytesPerSecond: number) {
    this.#bytesPerMs = bytesPerSecond / 1000;
  }

  /** Resolves when `bytes` may be sent without exceeding the rate. */
  async take(bytes: number): Promise<void> {
    if (!Number.isFinite(this.#bytesPerMs)) return;
    const now = performance.now();
    const start = Math.max(now, this.#nextFreeMs);
    this.#nextFreeMs = start + bytes / this.#bytesPerMs;
    const waitMs = this.#nextFreeMs - now - BURST_MS;
    if (waitMs > 0) await sleep(waitMs);
  }
}

/** A pass-through stream that paces chunks through `pacer` and reports each chunk's size. */
export function pacedStream(pacer: Pacer, onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
      pacer.take(chunk.length).then(
        () => {
          onBytes(chunk.length);
          done(null, chunk);
        },
        (err: unknown) => done(err as Error),
      );
    },
  });
}
