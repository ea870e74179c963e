/**
 * The control socket's routes, named once: the daemon serves every one of them
 * (control-routes.ts) and the CLI calls them by these names (cli/control-client.ts).
 * Bodies are JSON; paths are mount-relative (`/train/n01`), the CLI turns
 * filesystem paths into them.
 *
 *   stats    GET  /stats                                      → StatsSnapshot
 *   flush    POST /flush   {path?}                            → FlushReport (uploads pending writes at or below the path)
 *   load     POST /load    {paths, concurrency?, shared?: {index, count}} → LoadJobStatus (the job runs on)
 *   loads    GET  /loads                                      → {jobs: LoadJobStatus[]}
 *   pin      POST /pin     {paths}                            → PinReport
 *   unpin    POST /unpin   {paths}                            → UnpinReport
 *   free     POST /free    {paths, force?}                    → FreeReport
 *   ttl      POST /ttl     {path, ttlMs|null}                 → TtlReport
 *   refresh  POST /refresh {path}                             → RefreshReport
 *   prefetch POST /prefetch {session, paths, append?, windowFiles?, windowBytes?} → {files, windowFiles, windowBytes}
 */
export const CONTROL_ROUTES = {
  stats: 'GET /stats',
  flush: 'POST /flush',
  load: 'POST /load',
  loads: 'GET /loads',
  pin: 'POST /pin',
  unpin: 'POST /unpin',
  free: 'POST /free',
  ttl: 'POST /ttl',
  refresh: 'POST /refresh',
  prefetch: 'POST /prefetch',
} as const

export type ControlRouteName = keyof typeof CONTROL_ROUTES
