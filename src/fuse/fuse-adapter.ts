/**
 * The only code that imports fuse-native: one short handler per FUSE operation
 * that awaits the FilesystemCore and answers the kernel exactly once, with a
 * negative errno from the errno table on failure.
 */
import type { WholeObjects } from '../cache/whole-objects.js'
import Fuse, { type FuseOperations, type FuseStat, type PassthroughStats } from 'fuse-native'
import type { Logger } from 'pino'
import { S3CacheFsError } from '../errors.js'
import { errnoOf } from './errno-table.js'
import type { Caller } from './caller.js'
import { chmodAs, chownAs, utimensAs } from './owner-rules.js'
import { AccessChecks } from './access-checks.js'
import { STATFS } from './fs-limits.js'
import { setKernelReadAhead } from './kernel-read-ahead.js'
import { S_IFDIR } from '../metadata/s3fs-attributes.js'
import { constants as fsConstants } from 'node:fs'
import type { FileStat, FilesystemCore } from './filesystem-core.js'
import { KnownFiles } from './known-files.js'
import { type BlockFileListener, openFilesBudget } from '../cache/open-block-files.js'
import { useCrc32 } from '../util/crc32.js'

const { R_OK, W_OK } = fsConstants

export interface FuseMountConfig {
  readonly mountPoint: string
  readonly fsName: string
  readonly allowOther: boolean
  /** The kernel checks modes and owners before calling us (libfuse's default_permissions). */
  readonly defaultPermissions: boolean
  /** Seconds the kernel may cache attributes and directory entries. */
  readonly kernelTtlSeconds: number
  /** fuse-native answers ETIMEDOUT itself after this; longer than any S3 deadline. */
  readonly opTimeoutMs: number
  readonly debug: boolean
  /** Reads of small cached files answered by the binding on its own threads (see DirectReads). */
  readonly directReads: boolean
  /** Extended attributes kept as s3fs keeps them (`--xattr`); without, the kernel answers EOPNOTSUPP. */
  readonly xattrs: boolean
  /** The kernel's read-ahead window for this mount, KiB (0: leave the kernel's); see kernel-read-ahead.ts. */
  readonly kernelReadAheadKiB: number
  /** The kernel's bound on the mount's background requests, set at INIT (0: the kernel's 12). */
  readonly maxBackground: number
}

/**
 * How long libfuse keeps a path's node after the kernel forgot it, s (libfuse 2.9's `remember`).
 * Inode numbers are libfuse's node ids: when the kernel drops an unused inode (memory pressure,
 * drop_caches) and looks the path up again, a forgotten node gets a new number, and a file's
 * st_ino changes under tools that compare it (git's index, rename checks). Nodes forgotten by
 * the kernel cost ~200 bytes each for this long; libfuse's own thread prunes them.
 */
const REMEMBER_NODES_SECONDS = 600

/** The prefix of a backing file the binding may share with the handles already reading it through the kernel, but not open anew (passthrough.h). */
const SHARE_ONLY = 'share:'

/** How often handles released by the binding itself are forgotten when no open does it. */
const DIRECT_RELEASES_COLLECT_MS = 100

/** Runs `work` and answers `done` once: with its value, or with the errno of its error. */
function answer<T>(log: Logger, op: string, path: string, work: () => Promise<T> | T, done: (errno: number, value?: T) => void): void {
  if (op !== 'getattr' && op !== 'read' && op !== 'write') log.trace({ op, path }, 'request')
  Promise.resolve()
    .then(work)
    .then(
      value => done(0, value),
      (err: unknown) => {
        const errno = errnoOf(err)
        if (err instanceof S3CacheFsError && err.code === 'NOT_FOUND') log.debug({ op, path }, 'not found')
        else log.warn({ op, path, errno, err }, 'operation failed')
        done(errno)
      },
    )
}

/** The process that made the request being served (caller.ts); read when the request arrives, before any await. */
function requestCaller(): Caller | undefined {
  return typeof Fuse.requestCaller === 'function' ? (Fuse.requestCaller() ?? undefined) : undefined
}

type Check = (checks: AccessChecks, caller: Caller) => Promise<void>

/**
 * `work` preceded by the daemon's own permission check for the request's caller, read now
 * (before any await); just `work` when the kernel checks (no AccessChecks) or no caller is known.
 */
function guard<T>(checks: AccessChecks | undefined, check: Check, work: () => Promise<T> | T): () => Promise<T> | T {
  const caller = checks === undefined ? undefined : requestCaller()
  if (checks === undefined || caller === undefined) return work
  return async () => {
    await check(checks, caller)
    return work()
  }
}

/** The check each operation needs, as a value (handlers stay one line). */
const need = {
  lookup(path: string): Check {
    return (c, who) => c.lookup(who, path)
  },
  open(path: string, flags: number): Check {
    return (c, who) => c.open(who, path, flags)
  },
  access(path: string, mode: number): Check {
    return (c, who) => c.access(who, path, mode)
  },
  truncate(path: string): Check {
    return (c, who) => c.truncate(who, path)
  },
  create(path: string): Check {
    return (c, who) => c.create(who, path)
  },
  remove(path: string): Check {
    return (c, who) => c.remove(who, path)
  },
  rename(from: string, to: string): Check {
    return (c, who) => c.rename(who, from, to)
  },
}

/** `answer`, after the daemon's own check for the request's caller when there is one (see guard). */
function answerChecked<T>(
  log: Logger,
  op: string,
  path: string,
  checks: AccessChecks | undefined,
  check: Check,
  work: () => Promise<T> | T,
  done: (errno: number, value?: T) => void,
): void {
  answer(log, op, path, guard(checks, check, work), done)
}

/** Times as milliseconds: the binding takes numbers as they are (a Date per time per getattr is garbage). */
function toFuseStat(s: FileStat): FuseStat {
  return {
    mtime: s.mtimeMs,
    atime: s.atimeMs,
    ctime: s.ctimeMs,
    size: s.size,
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    nlink: s.nlink,
    blocks: Math.ceil(s.size / 512),
    blksize: 4096,
  }
}

/** The FUSE operations; with `checks`, each path operation is checked for its caller first (no cached fast paths then). */
function buildOperations(core: FilesystemCore, log: Logger, checks: AccessChecks | undefined, counts: FuseOpCounts, xattrs: boolean): FuseOperations {
  return {
    getattr: (path, cb) => {
      counts.getattr++
      const cached = checks === undefined ? core.getattrCached(path) : undefined
      if (cached !== undefined) return cb(0, toFuseStat(cached))
      return answerChecked(log, 'getattr', path, checks, need.lookup(path), async () => toFuseStat(await core.getattr(path)), cb)
    },
    fgetattr: (path, fd, cb) => answer(log, 'fgetattr', path, async () => toFuseStat(await core.fgetattr(fd, path)), cb),
    readdir: (path, cb) => {
      counts.readdir++
      answer(
        log,
        'readdir',
        path,
        async () => core.readdirTyped(path),
        (errno, listed) => {
          if (listed === undefined) return cb(errno)
          // One mode per name ('.' and '..' first): the binding gives the kernel each entry's d_type.
          const modes = new Uint32Array(listed.names.length + 2)
          modes[0] = modes[1] = S_IFDIR
          modes.set(listed.types, 2)
          cb(0, ['.', '..', ...listed.names], modes)
        },
      )
    },
    opendir: (path, flags, cb) => {
      const work = async (): Promise<number> => {
        await core.opendir(path)
        return 0
      }
      answerChecked(log, 'opendir', path, checks, need.open(path, flags), work, cb)
    },
    releasedir: (_path, _fd, cb) => cb(0),
    open: (path, flags, cb) => {
      const opened = (errno: number, fh?: number): void => {
        if (fh === undefined) return cb(errno)
        const backing = core.backingOf(fh, flags)
        cb(errno, fh, core.closesWithoutFlush(fh, flags), backing === undefined ? undefined : `${backing.fresh ? '' : SHARE_ONLY}${backing.path}`)
      }
      const fh = checks === undefined ? core.openCached(path, flags) : undefined
      if (fh !== undefined) return opened(0, fh)
      return answerChecked(log, 'open', path, checks, need.open(path, flags), () => core.open(path, flags), opened)
    },
    release: (path, fd, cb) => answer(log, 'release', path, () => core.release(fd), cb),
    read: (path, fd, buf, len, pos, cb) => {
      counts.read++
      counts.readBytes += len
      answer(
        log,
        'read',
        path,
        () => core.readInto(fd, pos, len, buf.subarray(0, len), path),
        (errno, n) => cb(errno !== 0 ? errno : (n ?? 0)),
      )
    },
    statfs: (path, cb) => answer(log, 'statfs', path, () => ({ ...STATFS, fsid: 0, flag: 0 }), cb),
    access: (path, mode, cb) => answerChecked(log, 'access', path, checks, need.access(path, mode), () => core.access(path, mode), cb),
    readlink: (path, cb) => answerChecked(log, 'readlink', path, checks, need.lookup(path), () => core.readlink(path), cb),
    ...writeOperations(core, log, checks),
    ...attributeOperations(core, log, checks),
    ...(xattrs ? xattrOperations(core, log, checks) : {}),
  }
}

function writeOperations(core: FilesystemCore, log: Logger, checks: AccessChecks | undefined): FuseOperations {
  return {
    create: (path, mode, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'create', path, checks, need.create(path), () => core.create(path, mode, caller), cb)
    },
    write: (path, fd, buf, len, pos, cb) =>
      answer(
        log,
        'write',
        path,
        () => core.write(fd, buf.subarray(0, len), pos),
        (errno, n) => cb(errno !== 0 ? errno : (n ?? 0)),
      ),
    flush: (path, fd, cb) => answer(log, 'flush', path, () => core.flush(fd), cb),
    fsync: (path, _datasync, fd, cb) => answer(log, 'fsync', path, () => core.fsync(fd), cb),
    truncate: (path, size, cb) => answerChecked(log, 'truncate', path, checks, need.truncate(path), () => core.truncate(path, size), cb),
    ftruncate: (path, fd, size, cb) => answer(log, 'ftruncate', path, () => core.ftruncate(fd, size), cb),
    unlink: (path, cb) => answerChecked(log, 'unlink', path, checks, need.remove(path), () => core.unlink(path), cb),
    rename: (src, dest, cb) => answerChecked(log, 'rename', src, checks, need.rename(src, dest), () => core.rename(src, dest), cb),
    mkdir: (path, mode, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'mkdir', path, checks, need.create(path), () => core.mkdir(path, mode, caller), cb)
    },
    rmdir: (path, cb) => answerChecked(log, 'rmdir', path, checks, need.remove(path), () => core.rmdir(path), cb),
    link: (_src, path, cb) => answer(log, 'link', path, () => core.refuseLink(path), cb),
    symlink: (target, path, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'symlink', path, checks, need.create(path), () => core.symlink(target, path, caller), cb)
    },
    mknod: (path, mode, _dev, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'mknod', path, checks, need.create(path), () => core.mknod(path, mode, caller), cb)
    },
  }
}

/** chmod, chown, utimens: the owner rules (owner-rules.ts) in both modes; with `checks`, search permission on the path first. */
function attributeOperations(core: FilesystemCore, log: Logger, checks: AccessChecks | undefined): FuseOperations {
  return {
    utimens: (path, atime, mtime, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'utimens', path, checks, need.lookup(path), () => utimensAs(core, path, atime, mtime, caller), cb)
    },
    chmod: (path, mode, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'chmod', path, checks, need.lookup(path), () => chmodAs(core, path, mode, caller), cb)
    },
    chown: (path, uid, gid, cb) => {
      const caller = requestCaller()
      answerChecked(log, 'chown', path, checks, need.lookup(path), () => chownAs(core, path, uid, gid, caller), cb)
    },
  }
}

/**
 * Extended attributes (`--xattr`, as s3fs's `use_xattr`): offered only when asked for, since
 * the kernel then sends every `ls -l` and every write a getxattr (ACLs, security.capability)
 * that a file not staged answers from its headers (one HEAD per version). Reading needs read
 * permission and changing write permission on the file, as Linux asks for `user.` names.
 */
function xattrOperations(core: FilesystemCore, log: Logger, checks: AccessChecks | undefined): FuseOperations {
  return {
    getxattr: (path, name, _position, cb) => answerChecked(log, 'getxattr', path, checks, need.access(path, R_OK), () => core.getxattr(path, name), cb),
    listxattr: (path, cb) => answerChecked(log, 'listxattr', path, checks, need.access(path, R_OK), () => core.listxattr(path), cb),
    setxattr: (path, name, value, _position, flags, cb) => {
      const copy = Buffer.from(value) // the kernel's buffer is gone once answered
      answerChecked(log, 'setxattr', path, checks, need.access(path, W_OK), () => core.setxattr(path, name, copy, flags), cb)
    },
    removexattr: (path, name, cb) => answerChecked(log, 'removexattr', path, checks, need.access(path, W_OK), () => core.removexattr(path, name), cb),
  }
}

/** FUSE requests answered since the mount, by operation (getattr: the kernel's LOOKUP and GETATTR both arrive as one). */
export interface FuseOpCounts {
  getattr: number
  readdir: number
  /** Reads answered on the event loop (not the binding's direct reads), and the bytes they asked for: their mean size is the kernel's request size. */
  read: number
  readBytes: number
}

/**
 * Mounts and resolves once the kernel has initialised the filesystem. `blockFiles`
 * registers the listener the disk cache tells of every block file it lets go: the
 * binding's direct reads keep block files open, and must let go of the same ones.
 */
/**
 * Our build of the binding computes zlib's CRC-32 with ISA-L (several times Node's zlib
 * through N-API): the daemon's own checksums use it from now on, once it gives zlib's sums
 * (src/util/crc32.ts). Called before the caches open; upstream's binding has none.
 */
export function useBindingCrc32(log: Logger): void {
  if (typeof Fuse.crc32 !== 'function') return
  const refused = useCrc32('isa-l', (data, initial) => Fuse.crc32(data, initial))
  if (refused !== undefined) log.warn({ reason: refused }, "the binding's CRC-32 is not used: zlib's is kept")
}

export async function mountFuse(
  config: FuseMountConfig,
  core: FilesystemCore,
  log: Logger,
  blockFiles?: (listener: BlockFileListener) => void,
  whole?: WholeObjects,
): Promise<FuseMount> {
  // Without default_permissions every local user reaches us (allow_other): the daemon checks permissions itself.
  const checks = config.allowOther && !config.defaultPermissions ? new AccessChecks(path => core.getattr(path)) : undefined
  const counts: FuseOpCounts = { getattr: 0, readdir: 0, read: 0, readBytes: 0 }
  // Only our build of the binding has passthrough; asked for before the mount, whose INIT it amends.
  const askPassthrough = whole !== undefined && typeof Fuse.passthroughRequest === 'function'
  if (askPassthrough) Fuse.passthroughRequest(true)
  // Only our build of the binding sets it (at INIT, so before the mount).
  if (typeof Fuse.maxBackground === 'function') Fuse.maxBackground(config.maxBackground)
  const fuse = new Fuse(config.mountPoint, buildOperations(core, log, checks, counts, config.xattrs), {
    // fuse-native passes neither option, so they ride on the option string. remember: stable
    // inode numbers. (hard_remove is set by the binding itself: libfuse 3 takes it at init.)
    fsname: `${config.fsName},remember=${REMEMBER_NODES_SECONDS}${config.defaultPermissions ? ',default_permissions' : ''}`,
    subtype: 's3cachefs',
    allowOther: config.allowOther,
    // Keep page-cache contents across opens while mtime and size are unchanged.
    autoCache: true,
    entryTimeout: config.kernelTtlSeconds,
    attrTimeout: config.kernelTtlSeconds,
    // Operations that move whole files (a sync-mode close uploads it; open for write copies it
    // in; rename copies server-side) take as long as the data needs: no timeout for those. A
    // write is never answered ETIMEDOUT while its buffer may still land in the staging file.
    timeout: {
      default: config.opTimeoutMs,
      open: false,
      create: false,
      flush: false,
      fsync: false,
      release: false,
      truncate: false,
      ftruncate: false,
      rename: false,
      unlink: false,
      write: false,
    },
    debug: config.debug,
  })
  await new Promise<void>((resolve, reject) => fuse.mount(err => (err ? reject(err) : resolve())))
  if (askPassthrough) {
    const pt = Fuse.passthroughStats()
    if (pt.granted) log.info('kernel passthrough on: whole-object copies are read by the kernel')
    else
      log.warn({ offered: pt.offered }, 'kernel passthrough unavailable (needs Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH); every read goes through the daemon')
    if (pt.granted && process.getuid?.() !== 0) log.warn('kernel passthrough needs CAP_SYS_ADMIN (root): without it every read goes through the daemon')
    // Copies are made and named only while the kernel takes them (granted, no BACKING_OPEN refused since).
    core.setWholeObjects(whole, () => Fuse.passthroughActive())
  }

  if (config.kernelReadAheadKiB > 0) {
    const ra = await setKernelReadAhead(config.mountPoint, config.kernelReadAheadKiB)
    if (ra.set) log.info({ device: ra.device, kib: ra.kib }, 'kernel read-ahead set')
    else log.info({ reason: ra.reason }, "kernel read-ahead left at the kernel's default")
  }
  // Only our build of the binding (vendor/fuse-native) has direct reads; upstream's prebuilt one does not.
  if (config.directReads && typeof Fuse.directReadSet === 'function') {
    // Block files stay open between direct reads (as many as the JS reader's own budget)
    // only when the disk cache tells the binding which to let go; before any handle is
    // registered, so before any is opened.
    if (blockFiles !== undefined) {
      Fuse.blockFilesReset(openFilesBudget())
      blockFiles({
        drop: path => Fuse.blockFileForget(path),
        // Kept open from its write on: its first read after a dropped page cache reads no inode nor header from disk.
        written: (path, header) => Fuse.blockFileWritten(path, header),
        // One thread-pool task per block written (open, writev, close, rename, kept open) instead of four round trips.
        ...(typeof Fuse.blockFileWrite === 'function'
          ? {
              write: (tmp: string, dest: string, header: Buffer, data: Buffer) =>
                new Promise<void>((resolve, reject) => Fuse.blockFileWrite(tmp, dest, header, data, err => (err === null ? resolve() : reject(err)))),
            }
          : {}),
        // Page-aligned block memory: the block's file is then written past the page cache (O_DIRECT).
        ...(typeof Fuse.allocBlock === 'function' && typeof Fuse.blockFileWrite === 'function'
          ? { allocBlock: (bytes: number) => Fuse.allocBlock(bytes) }
          : {}),
        dropAll: () => Fuse.blockFilesReset(0),
      })
    }
    core.directReads = {
      register: (fh, prefix, size, blockSize) => Fuse.directReadSet(fh, prefix, size, blockSize),
      unregister: fh => Fuse.directReadClear(fh),
      takeReleased: () => Fuse.directReadTakeReleased(),
      stats: () => {
        const files = Fuse.blockFilesStats()
        return {
          ...Fuse.directReadStats(),
          openBlockFiles: files.open,
          blockFileOpens: files.opens,
          pageCacheDrops: files.pagesDropped,
          pageCacheDropsSkipped: files.dropSkipped,
          directBlockWrites: files.directWrites,
        }
      },
    }
    // getattr and read-only opens of clean cached files, answered by the binding too (not when
    // the daemon checks each caller's permissions: the binding does not).
    if (checks === undefined && typeof Fuse.knownFileSet === 'function') {
      core.knownFiles = new KnownFiles({
        set: (path, stat, ttlMs, blocks) => Fuse.knownFileSet(path, toFuseStat(stat), ttlMs, blocks?.prefix ?? '', blocks?.blockSize ?? 0),
        clear: path => Fuse.knownFileClear(path),
        clearDir: dir => Fuse.knownFilesClearDir(dir),
        clearAll: () => Fuse.knownFilesClearAll(),
        takeOpened: () => Fuse.knownFilesTakeOpened(),
        handleOf: fh => Fuse.directReadInfo(fh),
        stats: () => Fuse.knownFilesStats(),
      })
    }
    // Releases the binding answered are also collected when opens stop.
    setInterval(() => core.forgetReleased(), DIRECT_RELEASES_COLLECT_MS).unref()
  }
  return new FuseMount(fuse, counts, askPassthrough)
}

export class FuseMount {
  readonly #fuse: Fuse
  readonly #counts: Readonly<FuseOpCounts>
  readonly #passthrough: boolean
  #unmounted = false

  constructor(fuse: Fuse, counts: Readonly<FuseOpCounts>, passthrough: boolean) {
    this.#fuse = fuse
    this.#counts = counts
    this.#passthrough = passthrough
  }

  /** The kernel's passthrough: what it granted and the opens it served; undefined when not asked for. */
  passthroughStats(): PassthroughStats | undefined {
    return this.#passthrough ? Fuse.passthroughStats() : undefined
  }

  /** Requests answered so far, by operation. */
  opCounts(): FuseOpCounts {
    return { ...this.#counts }
  }

  /**
   * The binding's FUSE worker thread states (each with its event-loop handle): created since
   * start, and reused after libfuse retired a worker (our build; undefined with upstream's).
   */
  threadStates(): { created: number; reused: number } | undefined {
    return typeof Fuse.threadStates === 'function' ? Fuse.threadStates() : undefined
  }

  async unmount(): Promise<void> {
    if (this.#unmounted) return
    this.#unmounted = true
    await new Promise<void>((resolve, reject) => this.#fuse.unmount(err => (err ? reject(err) : resolve())))
  }
}
