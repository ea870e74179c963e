/**
 * The daemon's own unmount at shutdown, bounded: fuse-native runs `fusermount -uz` and waits
 * for that child's exit, which once never came (the child a zombie libuv had not reaped), and
 * the daemon then waited for ever holding its cache-dir lock. Past the bound it logs and goes
 * on; the process exits after its cleanup, which ends the FUSE session in any case.
 */
import type { Logger } from 'pino'
import { UNMOUNT_STEP_MS } from '../config/defaults.js'
import { LATE, within } from '../util/within.js'

/** Resolves when `unmount` does, or after `ms` (logged); rejects if `unmount` fails first. */
export async function unmountBounded(unmount: () => Promise<void>, log: Logger, ms = UNMOUNT_STEP_MS): Promise<'unmounted' | 'gave up'> {
  if ((await within(unmount(), ms)) !== LATE) return 'unmounted'
  log.warn({ ms }, 'the unmount did not finish in time; exiting without it')
  return 'gave up'
}
