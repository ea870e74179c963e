// Runs a command in a child process and resolves when it exits with 0; any
// other exit, a signal or the timeout rejects with one line naming the
// command and the first line it wrote to stderr (e.g. dd's "closing output
// file ...: Input/output error"). The harness runs every file operation on a
// mount this way: it never does I/O on a mount itself.
import { spawn } from 'node:child_process';

/** Enough of stderr for an error message; a chatty command cannot grow memory. */
const STDERR_TAIL_CHARS = 2000;

export function runCommand(cmd: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-STDERR_TAIL_CHARS)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : signal !== null ? `killed by ${signal}` : `exited ${code}`;
      const first = stderr.trim().split('\n')[0] ?? '';
      reject(new Error(`${cmd} ${how}${first === '' ? '' : `: ${first}`}`));
    });
  });
}
