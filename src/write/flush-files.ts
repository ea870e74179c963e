/**
 * `s3cachefs flush PATH`: every pending file at or below a path uploaded (open ones
 * committed first), each on its own, and a report of what landed and what failed.
 */
import { messageOf } from '../errors.js'
import type { DirtyFile } from './dirty-file.js'
import type { FlushReport } from './write-back-types.js'

export async function flushFiles(files: readonly DirtyFile[], upload: (file: DirtyFile) => Promise<void>): Promise<FlushReport> {
  const uploaded: Array<{ path: string; bytes: number }> = []
  const failed: Array<{ path: string; error: string }> = []
  await Promise.all(
    files.map(async f => {
      if (f.unlinked || (f.clean && f.committed === undefined)) return
      try {
        await upload(f)
        uploaded.push({ path: f.path, bytes: f.size })
      } catch (err) {
        failed.push({ path: f.path, error: messageOf(err) })
      }
    }),
  )
  return { uploaded, failed }
}
