// Minimal typings for fuse-native 2.2.6, which ships none. Only src/fuse/ imports it.
declare module 'fuse-native' {
  type Cb<T = void> = T extends void ? (errno: number) => void : (errno: number, value?: T) => void

  export interface FuseStat {
    /** A Date or milliseconds since the epoch (the binding's toDateMS takes both). */
    mtime: Date | number
    atime: Date | number
    ctime: Date | number
    size: number
    mode: number
    uid: number
    gid: number
    nlink?: number
    blocks?: number
    blksize?: number
  }

  export interface FuseStatfs {
    bsize: number
    frsize: number
    blocks: number
    bfree: number
    bavail: number
    files: number
    ffree: number
    favail: number
    fsid: number
    flag: number
    namemax: number
  }

  /** The kernel's passthrough (our build): what the kernel offered and granted, and the opens it served. */
  export interface PassthroughStats {
    readonly requested: boolean
    readonly offered: boolean
    readonly granted: boolean
    /** Opens answered with a backing file. */
    readonly opens: number
    /** Of those, opens that shared the backing id of an inode already open. */
    readonly shared: number
    readonly backingOpens: number
    readonly backingFailures: number
    /** Opens that had a copy but were answered ordinarily: another open of the inode was in the page-cache mode. */
    readonly cachedFallbacks: number
    /** Opens answered EBUSY: their inode was open through passthrough and they could not be (for writing, another version). */
    readonly busy: number
    /** Inodes counted now. */
    readonly inodes: number
    /** errno of the last failed BACKING_OPEN (0: none). */
    readonly lastError: number
    /** Opens that conflicted with an inode's passthrough opens and waited for their RELEASE (at most 1 s, then EBUSY). */
    readonly waits: number
  }

  export interface FuseOperations {
    init?(cb: Cb): void
    getattr?(path: string, cb: (errno: number, stat?: FuseStat) => void): void
    fgetattr?(path: string, fd: number, cb: (errno: number, stat?: FuseStat) => void): void
    /** `stats` may be a Uint32Array of one mode per name (0: unknown): the entries' d_type (our binding). */
    readdir?(path: string, cb: (errno: number, names?: string[], stats?: FuseStat[] | Uint32Array) => void): void
    /**
     * `noflush`: the kernel sends no FLUSH when the handle is closed (FOPEN_NOFLUSH). `backing`: a
     * file holding exactly the file's bytes, which the kernel reads itself (our build, passthrough.h).
     */
    open?(path: string, flags: number, cb: (errno: number, fd?: number, noflush?: boolean, backing?: string) => void): void
    opendir?(path: string, flags: number, cb: (errno: number, fd?: number) => void): void
    release?(path: string, fd: number, cb: Cb): void
    releasedir?(path: string, fd: number, cb: Cb): void
    /** Answer with the number of bytes read (≥ 0) or a negative errno. */
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void): void
    write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void): void
    statfs?(path: string, cb: (errno: number, stat?: FuseStatfs) => void): void
    access?(path: string, mode: number, cb: Cb): void
    create?(path: string, mode: number, cb: (errno: number, fd?: number) => void): void
    truncate?(path: string, size: number, cb: Cb): void
    ftruncate?(path: string, fd: number, size: number, cb: Cb): void
    unlink?(path: string, cb: Cb): void
    rename?(src: string, dest: string, cb: Cb): void
    mkdir?(path: string, mode: number, cb: Cb): void
    rmdir?(path: string, cb: Cb): void
    chmod?(path: string, mode: number, cb: Cb): void
    chown?(path: string, uid: number, gid: number, cb: Cb): void
    /** Times in ms since the epoch; -1 = leave unchanged (UTIME_OMIT), -2 = now (UTIME_NOW). Our build only. */
    utimens?(path: string, atime: number, mtime: number, cb: Cb): void
    flush?(path: string, fd: number, cb: Cb): void
    fsync?(path: string, datasync: boolean, fd: number, cb: Cb): void
    symlink?(src: string, dest: string, cb: Cb): void
    link?(src: string, dest: string, cb: Cb): void
    readlink?(path: string, cb: (errno: number, target?: string) => void): void
    mknod?(path: string, mode: number, dev: number, cb: Cb): void
    /** `value` is the kernel's buffer, valid until `cb`; `position` is 0 on Linux. */
    setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Cb): void
    /** Answer with the value (the binding copies it, or answers its size, or ERANGE), or null for ENODATA. */
    getxattr?(path: string, name: string, position: number, cb: (errno: number, value?: Buffer | null) => void): void
    listxattr?(path: string, cb: (errno: number, names?: string[]) => void): void
    removexattr?(path: string, name: string, cb: Cb): void
  }

  export interface FuseOptions {
    debug?: boolean
    force?: boolean
    mkdir?: boolean
    allowOther?: boolean
    autoUnmount?: boolean
    defaultPermissions?: boolean
    fsname?: string
    subtype?: string
    kernelCache?: boolean
    autoCache?: boolean
    entryTimeout?: number
    attrTimeout?: number
    acAttrTimeout?: number
    /** Per-op timeout in ms after which fuse-native answers ETIMEDOUT itself; false disables. */
    timeout?: number | false | Record<string, number | false>
  }

  export default class Fuse {
    constructor(mnt: string, ops: FuseOperations, opts?: FuseOptions)
    mount(cb: (err: Error | null) => void): void
    unmount(cb: (err: Error | null) => void): void
    static unmount(mnt: string, cb: (err: Error | null) => void): void
    /** s3cachefs's vendored build: reads of `fh` answered on the FUSE thread from a block file. */
    /** The process that made the request being handled (our build only); valid synchronously inside a handler. */
    static requestCaller(): { uid: number; gid: number; pid: number } | null
    static directReadSet(fh: number, prefix: string, size: number, blockSize: number): boolean
    static directReadClear(fh: number): void
    static directReadTakeReleased(): number[]
    static directReadStats(): { reads: number; bytes: number; fallbacks: number; blocks: number; chunkReads: number; flushes: number }
    static directReadInfo(fh: number): { prefix: string; size: number } | undefined
    /** Our build: the block files the direct reads keep open (block-fds.h); reset(max) forgets all and keeps at most max (0: none). */
    static blockFileForget(path: string): void
    static blockFileWritten(path: string, header: Buffer): void
    /** Writes `tmp` (header, then data), renames it to `dest` and keeps it as blockFileWritten does, in one thread-pool task. */
    static blockFileWrite(tmp: string, dest: string, header: Buffer, data: Buffer, callback: (err: NodeJS.ErrnoException | null) => void): void
    static blockFilesReset(max: number): void
    static blockFilesStats(): { open: number; opens: number; hits: number; pagesDropped: number; dropSkipped: number; directWrites: number }
    /** A Buffer of `size` bytes at a page-aligned address (uninitialised): a block file can be written from it past the page cache. */
    static allocBlock(size: number): Buffer
    /** Our build: zlib's CRC-32 of `data` continuing from `initial`, through ISA-L. */
    static crc32(data: Uint8Array, initial?: number): number
    /** Our build: getattr and read-only open of published paths answered on the FUSE threads (known-files.h). */
    static knownFileSet(path: string, stat: FuseStat, ttlMs: number, prefix: string, blockSize: number): boolean
    static knownFileClear(path: string): void
    static knownFilesClearDir(dir: string): void
    static knownFilesClearAll(): void
    static knownFilesTakeOpened(): string[]
    static knownFilesStats(): { getattrs: number; opens: number; openReportsDropped: number; entries: number; openHandles: number }
    /** Our build: the kernel's bound on the mount's background requests (read-ahead, releases), before the mount; 0 keeps the kernel's 12. */
    static maxBackground(n: number): void
    /** Our build: the kernel's FUSE passthrough (passthrough.h), asked for before the mount. */
    static passthroughRequest(on: boolean): void
    static passthroughStats(): PassthroughStats
    /** Whether opens may be handed to the kernel now: granted at INIT, and no BACKING_OPEN refused since. */
    static passthroughActive(): boolean
    /** Our build: FUSE worker thread states created since load, and taken again after a worker retired. */
    static threadStates(): { created: number; reused: number }
  }
}
