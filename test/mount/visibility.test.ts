/**
 * What the bucket holds is what the mount shows, without a negative cache
 * (`--negative-ttl 0`, how s3fs-fuse runs and how the conformance script mounts):
 * - a file removed through the mount is gone for `[ -e ]` at once (a zero TTL once left the
 *   old positive entry in place: `rm f; [ -e f ]` was true);
 * - an object put behind the mount's back into a directory the mount created (so its listing
 *   is cached, empty) is found by the very next lookup;
 * - a file we just created is never hidden by a negative entry from before its creation.
 */
import t from 'tap'
import { makeFixture } from './mount-fixture.js'

t.test('--negative-ttl 0: removals and out-of-band creations are seen at once', async t => {
  const fx = await makeFixture(t)
  await fx.mount(['--metadata-ttl', '60s', '--negative-ttl', '0'])
  const m = fx.mountPoint

  const rm = await fx.sh(`cd ${m} && mkdir d && echo x > d/f && ls d >/dev/null && rm d/f && if [ -e d/f ]; then echo present; else echo absent; fi`)
  t.equal(rm.stdout, 'absent\n', `rm then [ -e ]: ${rm.stderr}`)

  const miss = await fx.sh(`cd ${m} && mkdir e && ls e && stat -c %s e/oob 2>&1 | grep -c 'No such'`)
  t.equal(miss.stdout, '1\n', 'absent before the out-of-band put')
  await fx.put('e/oob', 'behind your back')
  const seen = await fx.sh(`stat -c %s ${m}/e/oob && cat ${m}/e/oob`)
  t.equal(seen.stdout, '16\nbehind your back', `found by the next lookup: ${seen.stderr}`)

  const mine = await fx.sh(`cd ${m} && stat new 2>/dev/null; echo y > new && stat -c %s new`)
  t.equal(mine.stdout, '2\n', 'a file just created is found')
})
