/**
 * The filesystem core's configuration and the listener it tells of opens (cross-file
 * prefetch: src/prefetch/).
 */
import type { ObjectVersion } from '../cache/block-reader.js'
import type { FileReaderConfig } from '../cache/file-reader.js'
import type { WholeObjectsConfig } from '../cache/whole-objects.js'
import type { NamespaceLimits } from '../metadata/namespace-changes.js'

export interface FilesystemConfig {
  readonly uid: number
  readonly gid: number
  readonly fileMode: number
  readonly dirMode: number
  readonly readOnly: boolean
  readonly fileReader: FileReaderConfig
  /** Files up to this size are put in the block cache after upload, so reading them back costs no GET. */
  readonly adoptMaxBytes: number
  readonly namespace: NamespaceLimits
  /** `--passthrough`: whole-object copies the kernel reads for clean read-only opens; undefined when off. */
  readonly passthrough?: WholeObjectsConfig | undefined
}

/**
 * Told of every open for reading of a clean object (cross-file prefetch); `isCached`
 * says whether reading it would cost no GET, computed only if the listener asks.
 */
export type OpenListener = (path: string, version: ObjectVersion, isCached: () => boolean) => void
