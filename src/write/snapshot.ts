/**
 * What a DirtyFile hands to its upload (a Snapshot: the exact content one close or
 * fsync saw) and what it is built from.
 */
import type { DataFile } from './data-file.js'
import type { StagingStore } from './staging-store.js'

/** The exact content one close/fsync saw: what an upload sends. */
export interface Snapshot {
  readonly data: DataFile
  readonly size: number
  readonly generation: number
  readonly mtimeMs: number
}

export interface DirtyFileInit {
  readonly id: string
  readonly path: string
  readonly key: string
  readonly store: StagingStore
  readonly current: DataFile
  readonly uploadedGeneration: number
  readonly mtimeMs: number
}
