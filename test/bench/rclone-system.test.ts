// rclone mount as a peer system: its config file (an S3 remote of provider
// Other at the given endpoint, path-style, the local credentials), the mount
// command line, and the environment it runs in.
import t from 'tap'
import { ALL_SYSTEMS } from '../../tools/bench/systems/registry.js'
import { RCLONE_REMOTE, rcloneConfig, rcloneEnv, rcloneMountArgs, rcloneSource } from '../../tools/bench/systems/rclone-system.js'

t.test('config file: one S3 remote of provider Other at the endpoint', async (t) => {
  const conf = rcloneConfig('http://127.0.0.1:4567')
  const lines = conf.trim().split('\n')
  t.equal(lines[0], `[${RCLONE_REMOTE}]`)
  const kv = Object.fromEntries(lines.slice(1).map((l) => l.split(' = ') as [string, string]))
  t.same(kv, {
    type: 's3',
    provider: 'Other',
    env_auth: 'false',
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4567',
    force_path_style: 'true',
    no_check_bucket: 'true',
  })
})

t.test('mount command: bucket and prefix, full VFS cache, allow_other', async (t) => {
  t.equal(rcloneSource({ bucket: 'b', prefix: '' }), 'bench:b')
  t.equal(rcloneSource({ bucket: 'b', prefix: 'train/' }), 'bench:b/train')
  t.equal(rcloneSource({ bucket: 'b', prefix: 'w1/rclone/checkpoint/' }), 'bench:b/w1/rclone/checkpoint')
  const args = rcloneMountArgs('bench:b/train', '/tmp/m', { configFile: '/tmp/c.conf', cacheDir: '/tmp/cache', logFile: '/tmp/r.log' })
  t.same(args.slice(0, 3), ['mount', 'bench:b/train', '/tmp/m'])
  const opt = (name: string): string | undefined => args[args.indexOf(name) + 1]
  t.equal(opt('--config'), '/tmp/c.conf')
  t.equal(opt('--vfs-cache-mode'), 'full')
  t.equal(opt('--cache-dir'), '/tmp/cache')
  t.equal(opt('--vfs-cache-max-size'), '20G')
  t.equal(opt('--log-file'), '/tmp/r.log')
  t.ok(args.includes('--allow-other'))
  t.notOk(args.includes('--daemon'), 'runs in the foreground as our child, so its pid is known')
  t.notOk(args.some((a) => a.startsWith('--attr-timeout') || a.startsWith('--dir-cache-time') || a.startsWith('--vfs-write-back')), "rclone's own cache times are kept")
})

t.test('environment: everything but AWS_CA_BUNDLE', async (t) => {
  t.same(rcloneEnv({ PATH: '/usr/bin', AWS_CA_BUNDLE: '/etc/ssl/certs/ca.crt', HOME: '/root' }), { PATH: '/usr/bin', HOME: '/root' })
})

t.test('registered as a peer, after s3fs', async (t) => {
  const names = ALL_SYSTEMS.map((s) => s.name)
  t.equal(names.indexOf('rclone'), names.indexOf('s3fs') + 1)
  t.equal(ALL_SYSTEMS.find((s) => s.name === 'rclone')?.role, 'peer')
})
