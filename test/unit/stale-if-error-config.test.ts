/** --stale-if-error: default one hour, `0` off, a bad duration names the flag. */
import t from 'tap'
import { resolveMountConfig } from '../../src/config/resolve-config.js'
import { ConfigError } from '../../src/errors.js'

const resolve = (staleIfError?: string) =>
  resolveMountConfig('s3://bucket', '/tmp', { cacheDir: '/tmp/s3cachefs-unit-cache', ...(staleIfError !== undefined ? { staleIfError } : {}) })

t.test('--stale-if-error', async t => {
  t.equal(resolve().metadata.staleIfErrorMs, 3600_000, 'default 1h')
  t.equal(resolve('0').metadata.staleIfErrorMs, 0, '0 turns it off')
  t.equal(resolve('10m').metadata.staleIfErrorMs, 600_000)
  t.throws(() => resolve('soon'), ConfigError)
  t.throws(() => resolve('soon'), /--stale-if-error/)
})
