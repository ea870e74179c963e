import t from 'tap'
import { formatBytes, parseBytes, parseDurationMs } from '../../src/config/units.js'
import { parseS3Url } from '../../src/config/s3-url.js'
import { ConfigError } from '../../src/errors.js'

t.test('parseBytes', async t => {
  t.equal(parseBytes('200GiB', '--x'), 200 * 1024 ** 3)
  t.equal(parseBytes('1.5G', '--x'), 1.5 * 1024 ** 3)
  t.equal(parseBytes('512MB', '--x'), 512e6)
  t.equal(parseBytes('4096', '--x'), 4096)
  t.throws(() => parseBytes('12XB', '--cache-size'), { code: 'CONFIG', message: /--cache-size: cannot parse size '12XB'/ })
  t.throws(() => parseBytes('', '--x'), ConfigError)
  t.throws(() => parseBytes('-5G', '--x'), ConfigError)
})

t.test('parseDurationMs', async t => {
  t.equal(parseDurationMs('60s', '--x'), 60_000)
  t.equal(parseDurationMs('250ms', '--x'), 250)
  t.equal(parseDurationMs('5m', '--x'), 300_000)
  t.equal(parseDurationMs('2h', '--x'), 7_200_000)
  t.equal(parseDurationMs('30', '--x'), 30_000)
  t.equal(parseDurationMs('indefinite', '--x'), Infinity)
  t.throws(() => parseDurationMs('soon', '--metadata-ttl'), { message: /--metadata-ttl/ })
})

t.test('formatBytes', async t => {
  t.equal(formatBytes(512), '512 B')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
})

t.test('parseS3Url', async t => {
  t.same(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' })
  t.same(parseS3Url('s3://bucket/'), { bucket: 'bucket', prefix: '' })
  t.same(parseS3Url('s3://bucket/a/b'), { bucket: 'bucket', prefix: 'a/b/' })
  t.same(parseS3Url('s3://bucket/a/b/'), { bucket: 'bucket', prefix: 'a/b/' })
  for (const bad of ['bucket', 's3:/bucket', 'http://bucket', 's3://', 's3://b', 's3://bucket/a//b']) {
    t.throws(() => parseS3Url(bad), ConfigError, bad)
  }
})
