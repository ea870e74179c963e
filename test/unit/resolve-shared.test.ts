/** The many-node mount flags: defaults, the tier's client config, and each validation rule naming its flag. */
import t from 'tap'
import { resolveMountConfig } from '../../src/config/resolve-config.js'

const mount = (o: Record<string, string>) => resolveMountConfig('s3://src/pre', '/tmp/mnt', { endpointUrl: 'http://127.0.0.1:9000', ...o })

t.test('off by default', async t => {
  const c = mount({})
  t.equal(c.shared, undefined)
  t.equal(c.coordinator, undefined)
})

t.test('the tier: its own bucket and prefix, the source endpoint by default, short deadlines', async t => {
  const c = mount({ sharedCache: 's3://tier/blocks', coordinator: 'redis://10.0.0.5:6379' })
  t.match(c.shared, {
    location: { bucket: 'tier', prefix: 'blocks/' },
    s3: { bucket: 'tier', endpointUrl: 'http://127.0.0.1:9000', forcePathStyle: true, maxAttempts: 2, requestDeadlineMs: 2000 },
    tier: { sourceBucket: 'src', sourcePrefix: 'pre/', blockSize: 1024 * 1024, maxObjectBytes: 1024 ** 3 },
  })
  t.match(c.coordinator, { url: 'redis://10.0.0.5:6379', commandTimeoutMs: 250, keyPrefix: 's3cachefs:' })
  t.equal(mount({ sharedCache: 's3://tier', sharedCacheEndpointUrl: 'http://tier:9000' }).shared?.s3.endpointUrl, 'http://tier:9000')
  t.equal(mount({ sharedCache: 's3://tier', sharedCacheMaxObjectSize: '64MiB' }).shared?.tier.maxObjectBytes, 64 * 1024 * 1024)
  t.ok(mount({ coordinator: 'redis-cluster://a:7000,b:7001' }).coordinator)
})

t.test('bad input names the flag', async t => {
  t.throws(() => mount({ sharedCacheMaxObjectSize: '1GiB' }), /--shared-cache-max-object-size: needs --shared-cache/)
  t.throws(() => mount({ sharedCacheEndpointUrl: 'http://x' }), /--shared-cache-endpoint-url: needs --shared-cache/)
  t.throws(() => mount({ sharedCache: 'tier' }), /s3:\/\/BUCKET/)
  t.throws(() => mount({ sharedCache: 's3://src' }), /--shared-cache: must not be the source bucket/)
  t.throws(() => mount({ sharedCache: 's3://tier', sharedCacheEndpointUrl: 'ftp://x' }), /--shared-cache-endpoint-url/)
  t.throws(() => mount({ sharedCache: 's3://tier', sharedCacheMaxObjectSize: 'lots' }), /--shared-cache-max-object-size/)
  t.throws(() => mount({ coordinator: 'http://x:1' }), /--coordinator/)
})
