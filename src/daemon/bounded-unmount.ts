/**
 * The daemon's own unmount at shutdown, bounded: fuse-native runs `fusermount -uz` and waits
 * for that child's exit, which once never came (the child a zombie libuv had not reaped), and
 * the daemon then waited for ever holding its cache-dir lock. Past the bound it logs and goes
 * on; the process exits after its cleanup, which ends the FUSE session in any case.
 */
import type { Logger } from 'pino'
import { UNMOUNT_STEP_MS } from '../config/defaults.js'

/** Resolves when `unmount` does, or after `ms` (logged); rejects if `unmount` fails first. */
export async function unmountBounded(unmount: () => Promise<void>, log: Logger, ms = UNMOUNT_STEP_MS): Promise<'unmounted' | 'gave up'> {
  const unmounting = unmount()
  // Once given up on, a late failure has nobody to tell.
  unmounting.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'gave up'>(resolve => {
    timer = setTimeout(() => resolve('gave up'), ms)
  })
  try {
    const outcome = await Promise.race([unmounting.then(() => 'unmounted' as const), late])
    if (outcome === 'gave up') log.warn({ ms }, 'the unmount did not finish in time; exiting without it')
    return outcome
  } finally {
    clearTimeout(timer)
  }
}
