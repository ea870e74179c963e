// Starts the local S3 server the benchmark reads from: the project's own server
// (tools/local-s3/local-s3-server.ts: s3rver in a child process with its Node 20
// bugs corrected), whose pid the harness needs to charge the server's CPU seconds
// to each workload.
import { startLocalS3Server } from '../../local-s3/local-s3-server.js';

export interface RunningS3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Which store serves: the local S3 server or the synthetic store. */
  readonly flavour: 'devtools' | 'synthetic';
  /** Pid of the process that serves requests. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startS3Server(directory: string): Promise<RunningS3Server> {
  const srv = await startLocalS3Server({ directory, port: 0 });
  return { endpoint: srv.endpoint, port: srv.port, directory: srv.directory, flavour: 'devtools', pid: srv.pid, stop: () => srv.stop() };
}
