/**
 * Listings survive a remount (the listing manifest beside the block cache): with
 * `--metadata-ttl indefinite` a remount walks the tree (`find`) with no LIST and no
 * HEAD; with a finite TTL that has passed, the remount lists again.
 */
import t from 'tap'
import { makeFixture, type Fixture } from './mount-fixture.js'

async function fill(fx: Fixture): Promise<void> {
  const keys: string[] = []
  for (let d = 0; d < 4; d++) for (let f = 0; f < 25; f++) keys.push(`train/c${d}/img${f}.jpg`)
  keys.push('val/a/x.jpg', 'README.txt')
  await Promise.all(keys.map(k => fx.put(k, `body of ${k}`)))
}

async function find(fx: Fixture): Promise<string[]> {
  const r = await fx.sh(`cd ${fx.mountPoint} && find . | sort`)
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout.trim().split('\n')
}

t.test('with an indefinite TTL a remount lists nothing again', async t => {
  const fx = await makeFixture(t)
  await fill(fx)
  await fx.mount(['--metadata-ttl', 'indefinite'])
  const first = await find(fx)
  t.equal(first.length, 1 + 3 + 4 + 100 + 2, '. train val README.txt, 4 classes, 100 files, val/a, x.jpg')
  t.ok((await fx.requests()).list >= 8, 'the first mount listed every directory')
  await fx.unmount()

  await fx.resetRequests()
  await fx.mount(['--metadata-ttl', 'indefinite'])
  t.same(await find(fx), first, 'the same tree')
  const req = await fx.requests()
  t.equal(req.list, 0, 'no LIST after the remount')
  t.equal(req.headObject, 0, 'no HEAD either')
  const stats = JSON.parse((await fx.cli(['stats', fx.mountPoint, '--json'])).stdout) as { listings: { hits: number; directories: number } }
  t.ok(stats.listings.hits >= 8, `${stats.listings.hits} directories from the manifest`)
})

t.test('with a finite TTL that passed, the remount lists again; --no-persist-listings never keeps them', async t => {
  const fx = await makeFixture(t)
  await fill(fx)
  await fx.mount(['--metadata-ttl', '2s'])
  const first = await find(fx)
  await fx.unmount()
  await new Promise(resolve => setTimeout(resolve, 2_500))
  await fx.resetRequests()
  await fx.mount(['--metadata-ttl', '2s'])
  t.same(await find(fx), first)
  t.ok((await fx.requests()).list >= 8, 'listed again once the TTL passed')
  await fx.unmount()

  await fx.mount(['--metadata-ttl', 'indefinite', '--no-persist-listings'])
  await find(fx)
  await fx.unmount()
  await fx.resetRequests()
  await fx.mount(['--metadata-ttl', 'indefinite', '--no-persist-listings'])
  await find(fx)
  t.ok((await fx.requests()).list >= 8, 'not kept with --no-persist-listings')
})
