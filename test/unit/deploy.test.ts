/**
 * The deployment files, structurally: the Kubernetes manifest (a privileged DaemonSet
 * with /dev/fuse, a hostPath cache, Bidirectional propagation of /mnt/data, credentials
 * from a Secret, a graceful unmount), the systemd unit (`systemd-analyze verify` when
 * present) and the option translation of mount.s3cachefs (with echo as the CLI).
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseAllDocuments } from 'yaml'

const run = promisify(execFile)
const DEPLOY = resolve(import.meta.dirname, '../../deploy')

interface Container {
  command: string[]
  securityContext?: { privileged?: boolean }
  env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string } } }>
  volumeMounts: Array<{ name: string; mountPath: string; mountPropagation?: string }>
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
}
interface Volume {
  name: string
  hostPath?: { path: string; type?: string }
}
interface Doc {
  kind: string
  metadata: { name: string }
  spec?: { template?: { spec: { containers: Container[]; volumes: Volume[]; terminationGracePeriodSeconds?: number } } }
}

t.test('the DaemonSet mounts the dataset on every node, visible to pods', async t => {
  const docs = parseAllDocuments(await readFile(join(DEPLOY, 'kubernetes/s3cachefs-daemonset.yaml'), 'utf8'))
  for (const d of docs) t.same(d.errors, [], 'valid YAML')
  const objects = docs.map(d => d.toJS() as Doc)
  t.same(objects.map(o => o.kind).sort(), ['DaemonSet', 'Deployment', 'Namespace', 'Secret', 'Service'])
  const ds = objects.find(o => o.kind === 'DaemonSet')?.spec?.template?.spec
  if (ds === undefined) throw new Error('no DaemonSet pod spec')
  const c = ds.containers[0] as Container
  t.equal(c.securityContext?.privileged, true, 'privileged (FUSE, mount propagation)')
  const mount = (path: string) => c.volumeMounts.find(m => m.mountPath === path)
  const volume = (name: string | undefined) => ds.volumes.find(v => v.name === name)?.hostPath
  t.same(volume(mount('/dev/fuse')?.name), { path: '/dev/fuse', type: 'CharDevice' }, '/dev/fuse from the host')
  t.equal(volume(mount('/var/cache/s3cachefs')?.name)?.path, '/var/cache/s3cachefs', 'the cache on the host disk')
  t.equal(mount('/mnt/data')?.mountPropagation, 'Bidirectional', 'the mount propagates to the host')
  t.equal(volume(mount('/mnt/data')?.name)?.path, '/mnt/data')
  const secret = objects.find(o => o.kind === 'Secret')?.metadata.name
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    t.equal(c.env?.find(e => e.name === name)?.valueFrom?.secretKeyRef?.name, secret, `${name} from the Secret`)
  }
  const cmd = c.command
  t.same(cmd.slice(0, 2), ['s3cachefs', 'mount'])
  for (const flag of ['--foreground', '--cache-dir', '--shared-cache', '--coordinator', '--allow-other']) t.ok(cmd.includes(flag), flag)
  t.equal(cmd[cmd.indexOf('--cache-dir') + 1]?.startsWith('/var/cache/s3cachefs'), true, 'the cache dir is on the hostPath')
  t.same(c.lifecycle?.preStop?.exec?.command, ['s3cachefs', 'unmount', '/mnt/data'], 'unmounts before the pod goes')
  t.ok((ds.terminationGracePeriodSeconds ?? 0) >= 130, 'time for the 2-minute flush')
})

t.test('the systemd unit verifies', async t => {
  const dir = await mkdtemp(join(tmpdir(), 's3cachefs-unit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const unit = await readFile(join(DEPLOY, 'systemd/s3cachefs@.service'), 'utf8')
  t.match(unit, /^ExecStart=\S+ mount \$\{S3CACHEFS_SOURCE\} \$\{S3CACHEFS_MOUNTPOINT\} --foreground/m)
  t.match(unit, /^ExecStop=\S+ unmount /m)
  await copyFile(join(DEPLOY, 'systemd/s3cachefs@.service'), join(dir, 's3cachefs@data.service'))
  const verify = await run('systemd-analyze', ['verify', join(dir, 's3cachefs@data.service')]).then(
    r => r,
    (e: { code?: unknown; stderr?: string }) => e,
  )
  if ((verify as { code?: unknown }).code === 'ENOENT') {
    t.pass('no systemd-analyze', { skip: true })
    return
  }
  t.equal((verify as { stderr?: string }).stderr?.trim() ?? '', '', 'systemd-analyze verify is silent')
})

t.test('mount.s3cachefs turns mount options into flags', async t => {
  const helper = join(DEPLOY, 'mount.s3cachefs')
  const args = async (opts: string) =>
    (await run(helper, ['s3://b/p', '/mnt/x', '-o', opts], { env: { ...process.env, S3CACHEFS_BIN: '/bin/echo' } })).stdout.trim()
  t.equal(await args('defaults,_netdev,nofail,x-systemd.automount,rw'), 'mount s3://b/p /mnt/x', 'mount(8) and systemd options dropped')
  t.equal(
    await args('ro,allow_other,cache-size=200GiB,metadata_ttl=5m'),
    'mount s3://b/p /mnt/x --read-only --allow-other --cache-size 200GiB --metadata-ttl 5m',
  )
  t.equal(
    await args('shared-cache=s3://tier/x,coordinator=redis://10.0.0.5:6379'),
    'mount s3://b/p /mnt/x --shared-cache s3://tier/x --coordinator redis://10.0.0.5:6379',
  )
})
