/** The configuration, listener and reports of `WriteBack` (write-back.ts), apart so its neighbours share them. */
import type { BacklogConfig } from './backlog.js'
import type { DirtyFile, Snapshot } from './dirty-file.js'
import type { SourceId } from './journal.js'
import type { StagingBudgetStats, StagingLimits } from './staging-budget.js'

export type WriteMode = 'sync' | 'async'

export interface WriteBackConfig {
  readonly mode: WriteMode
  readonly source: SourceId
  /** Files uploaded at once. */
  readonly uploadConcurrency: number
  /** Memory the uploads' part buffers may hold at once. */
  readonly uploadBufferBudgetBytes: number
  /** Async mode: closed files (and their bytes) waiting for upload before close waits. */
  readonly backlog: BacklogConfig
  /** How long recovered/ keeps what recovery set aside. */
  readonly recoveredKeepMs: number
  /** Part size of uploads streamed while a file is written front to back; 0 turns streaming off. */
  readonly streamPartBytes: number
  /** `--staging-size`: the bound on staged bytes, given to the StagingStore. */
  readonly staging: StagingLimits
}

/** What the filesystem hears from the write path. */
export interface WriteListener {
  /** A snapshot reached the bucket under `etag`: update metadata, adopt into the block cache. */
  uploaded(file: DirtyFile, etag: string, snap: Snapshot): Promise<void>
  /** Staged changes were dropped (a failed write): the bucket's object is the truth again. */
  dropped(path: string): void
}

export interface FlushReport {
  readonly uploaded: ReadonlyArray<{ path: string; bytes: number }>
  readonly failed: ReadonlyArray<{ path: string; error: string }>
}

export interface WriteStats {
  /** Files with content not yet in the bucket. */
  readonly pending: number
  readonly pendingBytes: number
  /** Bytes sent by uploads now running. */
  readonly inFlightBytes: number
  readonly uploads: number
  readonly uploadedBytes: number
  readonly failures: number
  /** Bytes staged on local disk against `--staging-size`; writes that waited for room or were refused. */
  readonly staging: StagingBudgetStats
}

/** How long a truncated file with no open handle waits for an open before it is uploaded. */
export const TRUNCATE_GRACE_MS = 1000
