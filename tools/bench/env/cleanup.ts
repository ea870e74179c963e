// Teardown that runs on success, on failure and on Ctrl-C. Every resource
// (mount, server, proxy, worker) registers an undo action the moment it is
// created; actions run newest first, each bounded in time, and an action that
// throws does not stop the others. SIGINT/SIGTERM run the stack and exit, so
// an interrupted benchmark leaves no FUSE mount or server behind.

type Action = { readonly name: string; readonly run: () => Promise<void> | void };

/** Upper bound per action, ms: a stuck unmount must not hang the exit. */
const ACTION_TIMEOUT_MS = 20_000;

export class InterruptedError extends Error {
  readonly code = 'BENCH_INTERRUPTED';
  constructor() {
    super('interrupted');
  }
}

export class Cleanup {
  #actions: Action[] = [];
  #running: Promise<void> | undefined;
  #aborted = false;

  /** True once a signal arrived: the run must start nothing new (no mount, no worker). */
  get aborted(): boolean {
    return this.#aborted;
  }

  throwIfAborted(): void {
    if (this.#aborted) throw new InterruptedError();
  }

  /** Registers `run`; returns a function that runs it now (once) and removes it from the stack. */
  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const action: Action = { name, run };
    this.#actions.push(action);
    return async () => {
      const i = this.#actions.indexOf(action);
      if (i < 0) return;
      this.#actions.splice(i, 1);
      await runBounded(action);
    };
  }

  /** Runs every registered action, newest first. Safe to call more than once. */
  runAll(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#actions.length > 0) {
        const action = this.#actions.pop() as Action;
        await runBounded(action);
      }
    })();
    return this.#running;
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130/143. A second signal exits at once. */
  installSignalHandlers(log: (msg: string) => void): void {
    let seen = false;
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.on(signal, () => {
        if (seen) process.exit(code);
        seen = true;
        this.#aborted = true;
        log(`\n${signal}: cleaning up mounts, servers and proxy...`);
        this.runAll().finally(() => process.exit(code));
      });
    }
  }
}

async function runBounded(action: Action): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(action.run),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ACTION_TIMEOUT_MS))),
    ]);
  } catch (err) {
    process.stderr.write(`cleanup: ${action.name} failed: ${(err as Error).message}\n`);
  } finally {
    clearTimeout(timer);
  }
}
