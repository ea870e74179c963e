// The systems a run can compare, in report order. One entry per system:
// adding Mountpoint or gcsfuse is one more BenchSystem here.
import { directSystem } from './direct-system.js';
import { localSystem } from './local-system.js';
import { passthroughSystem } from './passthrough-system.js';
import { rcloneSystem } from './rclone-system.js';
import { s3cachefsPassthroughSystem, s3cachefsSystem } from './s3cachefs-system.js';
import { s3fsSystem } from './s3fs-system.js';
import type { BenchSystem } from './system.js';

export const ALL_SYSTEMS: readonly BenchSystem[] = [s3cachefsSystem, s3cachefsPassthroughSystem, s3fsSystem, rcloneSystem, localSystem, passthroughSystem, directSystem];
