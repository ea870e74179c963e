/** fsync of a directory: the creates, renames and removes in it survive a power loss. */
import { open } from 'node:fs/promises'

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
