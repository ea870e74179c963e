/**
 * Turns the filesystem paths an operator types (`/mnt/data/train`, `./n01`)
 * into the mount they are on and mount-relative paths (`/train`), from the
 * mount table alone: the CLI never touches the mount to find out, so it also
 * works when the daemon is gone (the control client then says so).
 */
import { resolve } from 'node:path'
import { MountPointError } from '../errors.js'
import { mountedPaths } from '../daemon/preflight.js'

export interface MountPaths {
  readonly mountPoint: string
  /** Mount-relative, each starting with '/'. */
  readonly paths: readonly string[]
}

export async function resolveMountPaths(args: readonly string[]): Promise<MountPaths> {
  const mounts = [...(await mountedPaths())].filter(([, type]) => type === 'fuse.s3cachefs').map(([mp]) => mp)
  let mountPoint: string | undefined
  const paths: string[] = []
  for (const arg of args) {
    const abs = resolve(arg)
    const owner = mounts.filter(m => abs === m || abs.startsWith(m === '/' ? m : m + '/')).sort((a, b) => b.length - a.length)[0]
    if (owner === undefined) throw new MountPointError(`${abs} is not inside an s3cachefs mount`)
    if (mountPoint !== undefined && owner !== mountPoint) {
      throw new MountPointError(`${arg} is not on the same mount as ${mountPoint}; run one command per mount`)
    }
    mountPoint = owner
    paths.push(abs === owner ? '/' : abs.slice(owner.length))
  }
  if (mountPoint === undefined) throw new MountPointError('give a mount point or paths inside a mount')
  return { mountPoint, paths }
}
