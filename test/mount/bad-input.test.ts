/**
 * Bad input ends with one clear line on stderr, a non-zero exit, and nothing mounted.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { makeFixture, type CliResult, sh } from './mount-fixture.js'

function oneLine(t: Test, r: CliResult, pattern: RegExp, code?: number): void {
  t.not(r.code, 0, 'non-zero exit')
  if (code !== undefined) t.equal(r.code, code)
  const lines = r.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`)
  t.match(lines[0], pattern)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

t.test('bad input', async t => {
  const fx = await makeFixture(t)
  await fx.put('x.txt', 'x')
  const base = (extra: string[] = [], source = `s3://${fx.bucket}`, mp = fx.mountPoint) =>
    fx.cli(['mount', source, mp, '--endpoint-url', fx.server.endpoint, '--cache-dir', join(fx.root, 'cache-bad'), ...extra])
  const notMounted = async () => t.equal((await sh(`grep -c " ${fx.mountPoint} " /proc/mounts`)).stdout.trim(), '0', 'nothing mounted')

  await t.test('malformed s3 URL', async t => {
    oneLine(t, await base([], 's3:/nope'), /is not of the form s3:\/\/BUCKET/, 2)
    oneLine(t, await base([], 'https://bucket'), /is not of the form/, 2)
  })
  await t.test('bucket that does not exist', async t => {
    oneLine(t, await base([], 's3://no-such-bucket-here'), /bucket 'no-such-bucket-here' does not exist/)
    await notMounted()
  })
  await t.test('access denied', async t => {
    await fx.server.injectFault({ status: 403, code: 'AccessDenied', match: 'HEAD', count: 20 })
    oneLine(t, await base(), /access denied/)
    await fx.server.clearFaults()
    await notMounted()
  })
  await t.test('no credentials at all', async t => {
    const r = await fx.cli(['mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', fx.server.endpoint, '--cache-dir', join(fx.root, 'cache-bad')], {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    })
    oneLine(t, r, /no AWS credentials found/)
  })
  await t.test('unreachable endpoint fails within seconds', async t => {
    const t0 = Date.now()
    const r = await fx.cli(['mount', `s3://${fx.bucket}`, fx.mountPoint, '--endpoint-url', 'http://127.0.0.1:9', '--cache-dir', join(fx.root, 'cache-bad')])
    oneLine(t, r, /cannot reach the store/)
    t.ok(Date.now() - t0 < 15_000, `failed in ${Date.now() - t0} ms`)
  })
  await t.test('mount point missing, not a directory, not empty, already mounted', async t => {
    oneLine(t, await base([], undefined, join(fx.root, 'missing')), /does not exist/, 2)
    const file = join(fx.root, 'afile')
    await writeFile(file, 'x')
    oneLine(t, await base([], undefined, file), /is not a directory/, 2)
    const full = join(fx.root, 'full')
    await mkdir(full)
    await writeFile(join(full, 'something'), 'x')
    oneLine(t, await base([], undefined, full), /is not empty/, 2)
    await fx.mount()
    oneLine(t, await base(), /already mounted/, 2)
    await fx.unmount()
  })
  await t.test('cache directory not writable, or on a full disk', async t => {
    const file = join(fx.root, 'plainfile')
    await writeFile(file, 'x')
    oneLine(t, await base(['--cache-dir', join(file, 'cache')]), /--cache-dir .*not writable/, 2)
    const tiny = join(fx.root, 'tiny')
    await mkdir(tiny)
    const m = await sh(`mount -t tmpfs -o size=4m tmpfs ${tiny}`)
    if (m.code !== 0) {
      t.pass('cannot mount a tmpfs here to fill a disk', { skip: true })
      return
    }
    t.teardown(() => sh(`umount ${tiny}`))
    oneLine(t, await base(['--cache-dir', join(tiny, 'cache')]), /only .* free on its disk/, 2)
    await sh(`head -c 4194304 /dev/zero > ${tiny}/fill`)
    oneLine(t, await base(['--cache-dir', join(tiny, 'cache2')]), /--cache-dir .*(disk is full|not writable)/, 2)
    await notMounted()
  })
  await t.test('unparsable flags and unknown flags', async t => {
    oneLine(t, await base(['--cache-size', 'lots']), /--cache-size: cannot parse size 'lots'/, 2)
    oneLine(t, await base(['--metadata-ttl', 'soon']), /--metadata-ttl: cannot parse duration/, 2)
    oneLine(t, await base(['--staging-size', '1MiB']), /--staging-size: must be at least 8MiB/, 2)
    oneLine(t, await base(['--passthrough', '1MiB']), /--passthrough: must be 0 or at least 4MiB/, 2)
    oneLine(t, await base(['--passthrough', 'plenty']), /--passthrough: cannot parse size 'plenty'/, 2)
    oneLine(t, await base(['--max-concurrency', '0']), /--max-concurrency: must be a whole number/, 2)
    oneLine(t, await base(['--no-such-flag']), /unknown option '--no-such-flag'/, 2)
    oneLine(t, await fx.cli(['stats']), /missing required argument/, 2)
  })
  await t.test('control commands on a path that is not a mount', async t => {
    oneLine(t, await fx.cli(['unmount', fx.mountPoint]), /is not mounted/, 2)
    oneLine(t, await fx.cli(['stats', fx.mountPoint]), /is not an s3cachefs mount/, 2)
    oneLine(t, await fx.cli(['unmount', '/proc']), /is not an s3cachefs mount/, 2)
  })
})
