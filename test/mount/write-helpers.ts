/** Helpers of the write-path mount tests: read the bucket directly, kill and recover the daemon. */
import { createHash } from 'node:crypto'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { daemonPid, type Fixture, sh } from './mount-fixture.js'

export const MiB = 1024 * 1024
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

export async function getObject(fx: Fixture, key: string): Promise<Buffer> {
  const out = await fx.s3.send(new GetObjectCommand({ Bucket: fx.bucket, Key: key }))
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}

/** sha256 and size of an object, streamed (objects of gigabytes never sit in memory). */
export async function hashObject(fx: Fixture, key: string): Promise<{ sha: string; size: number }> {
  const out = await fx.s3.send(new GetObjectCommand({ Bucket: fx.bucket, Key: key }))
  const h = createHash('sha256')
  let size = 0
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
    h.update(chunk)
    size += chunk.length
  }
  return { sha: h.digest('hex'), size }
}

/** Every key in the bucket (all pages), sorted. */
export async function keys(fx: Fixture, prefix = ''): Promise<string[]> {
  const all: string[] = []
  let token: string | undefined
  do {
    const out = await fx.s3.send(new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }))
    all.push(...(out.Contents ?? []).map(o => o.Key as string))
    token = out.IsTruncated === true ? out.NextContinuationToken : undefined
  } while (token !== undefined)
  return all.sort()
}

/** The fixture's daemon's pid; undefined once it is gone. */
export async function fixturePid(fx: Fixture): Promise<number | undefined> {
  const out = await daemonPid(fx.bucket, fx.mountPoint)
  return out === '' ? undefined : Number(out)
}

/** Waits until the mount's daemon is gone (true) or `ms` passed (false). */
export async function waitForDeath(fx: Fixture, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if ((await fixturePid(fx)) === undefined) return true
    await new Promise(r => setTimeout(r, 100))
  }
  return (await fixturePid(fx)) === undefined
}

/** After a daemon died: release the dead mount, mount again (without crash switches) and flush. */
export async function recover(fx: Fixture, extra: string[]): Promise<void> {
  await fx.cli(['unmount', fx.mountPoint, '--force'])
  await sh(`grep -q " ${fx.mountPoint} " /proc/mounts && fusermount -uz ${fx.mountPoint}; true`)
  await fx.mount(extra)
  const f = await fx.cli(['flush', fx.mountPoint])
  if (f.code !== 0) throw new Error(`flush after recovery failed: ${f.stderr}`)
}
