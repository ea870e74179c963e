// s3cachefs: reads of cached blocks answered on the FUSE thread.
//
// The daemon registers an open handle (fh) whose object is entirely on local disk:
// the common prefix of its block files (`<cache>/blocks/<aa>/<objectId>.`, block i
// being that prefix followed by i), the object's size and the block size. A FUSE
// read of that handle is then served here, without a round trip through the JS
// event loop, the header and CRC-32s checked as the JS reader checks them
// (block-file-format.ts).
//
// - A read that covers a whole block (a small file; a 1 MiB read of a large one, the
//   kernel's largest FUSE read with libfuse 3 and a 1 MiB read-ahead window) is one preadv of the header, the chunk table and the data straight
//   into libfuse's reply buffer; every chunk's CRC-32 is checked.
// - A read of part of a block (a large file's smaller or unaligned reads) reads
//   the header and chunk table, then just the 64 KiB chunks it covers (into the reply
//   buffer when aligned to chunks, as the kernel's reads are), and checks those chunks'
//   CRC-32s (format version 2, block-file-format.ts): a 256 KiB read costs 256 KiB of
//   disk and checksum, never the whole block's, and no copy. When a handle's read goes on
//   from where its last one ended into a new block, the two block files after it are
//   read ahead into the page cache (posix_fadvise WILLNEED); a random read that crosses
//   a block boundary reads nothing ahead.
// - Block files stay open between reads (block-fds.h), so a read is its positioned
//   reads and nothing else.
// - Whatever cannot be served that way (a block evicted, corrupt, unreadable or of
//   format version 1) returns -1 and the read goes to JS as before, which refetches
//   and repairs (and reads version 1).
//
// The table is keyed by fh, guarded by one mutex held only to find an entry and copy
// its fields. The daemon clears an entry at release (or the release is answered here,
// below), and the kernel sends no read of a handle after its release, so an entry never
// goes away under a read of it.
#ifndef S3CACHEFS_DIRECT_READS_H
#define S3CACHEFS_DIRECT_READS_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <isa-l/crc.h>

#include "block-fds.h"
#include "page-dropper.h"

#define DIRECT_READ_BUCKETS 4096
#define DIRECT_READ_PATH_MAX 4096
#define BLOCK_FIXED_HEADER_BYTES 16
/** Handles the binding opens itself (known-files.h) are NATIVE_FH_BASE | n: the daemon's own (an int32 counter from 1) stay below. */
#define NATIVE_FH_BASE 0x80000000u
#define BLOCK_MAGIC 0x42433353u /* 'S3CB' read as uint32 LE */
#define BLOCK_VERSION 2
/** Version 3: version 2's header and table, zeros up to BLOCK_DATA_ALIGN, then the data; written for lengths that are a multiple of it. */
#define BLOCK_ALIGNED_VERSION 3
#define BLOCK_DATA_ALIGN 4096u
/** Each 64 KiB chunk of a block's data has its own CRC-32 (block-file-format.ts). */
#define BLOCK_CHUNK_SHIFT 16
#define BLOCK_CHUNK_BYTES (1u << BLOCK_CHUNK_SHIFT)
/** Largest block served here: its header and chunk table fit a 4 KiB stack buffer. */
#define DIRECT_READ_BLOCK_MAX (64u << 20)
#define BLOCK_HEADER_MAX (BLOCK_FIXED_HEADER_BYTES + 4 * (DIRECT_READ_BLOCK_MAX >> BLOCK_CHUNK_SHIFT))

typedef struct direct_read_s {
  uint64_t fh;
  uint64_t size;
  uint32_t block_size;
  char *prefix;
  /** The last block the handle's last read reached (any thread's; -1 before the first): a read going on from there is sequential. */
  int64_t last_read;
  struct direct_read_s *next;
} direct_read_t;

static direct_read_t *direct_reads[DIRECT_READ_BUCKETS];
static pthread_mutex_t direct_reads_lock = PTHREAD_MUTEX_INITIALIZER;
/** Registered handles numbered 2^31 and up: those the binding opened itself (known-files.h). Guarded by direct_reads_lock. */
static uint64_t direct_native_handles;
static uint64_t direct_read_hits, direct_read_bytes, direct_read_fallbacks, direct_read_blocks, direct_read_chunk_reads;
/** FLUSH requests the kernel sent (one per close of a handle opened without FOPEN_NOFLUSH). */
static uint64_t direct_read_flushes;

static void direct_read_count (uint64_t *counter, uint64_t n) {
  __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static direct_read_t **direct_read_slot (uint64_t fh) {
  direct_read_t **p = &direct_reads[fh % DIRECT_READ_BUCKETS];
  while (*p != NULL && (*p)->fh != fh) p = &(*p)->next;
  return p;
}

static void direct_read_free (direct_read_t *e) {
  free(e->prefix);
  free(e);
}

static void direct_read_clear (uint64_t fh) {
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t **p = direct_read_slot(fh);
  direct_read_t *e = *p;
  if (e != NULL) *p = e->next;
  if (e != NULL && fh >= NATIVE_FH_BASE) direct_native_handles--;
  pthread_mutex_unlock(&direct_reads_lock);
  if (e != NULL) direct_read_free(e);
}

/** A new entry, or NULL when out of memory or the arguments are unusable. */
static direct_read_t *direct_read_make (uint64_t fh, const char *prefix, uint64_t size, uint32_t block_size) {
  size_t n = strlen(prefix);
  if (n == 0 || n + 24 >= DIRECT_READ_PATH_MAX || size == 0 || block_size == 0 || block_size > DIRECT_READ_BLOCK_MAX) return NULL;
  direct_read_t *e = calloc(1, sizeof(direct_read_t));
  char *copy = malloc(n + 1);
  if (e == NULL || copy == NULL) {
    free(e);
    free(copy);
    return NULL;
  }
  memcpy(copy, prefix, n + 1);
  e->fh = fh;
  e->size = size;
  e->block_size = block_size;
  e->prefix = copy;
  e->last_read = -1;
  return e;
}

/** Links `e` in (lock held). */
static void direct_read_link (direct_read_t *e) {
  direct_read_t **p = &direct_reads[e->fh % DIRECT_READ_BUCKETS];
  e->next = *p;
  *p = e;
  if (e->fh >= NATIVE_FH_BASE) direct_native_handles++;
}

/** 0 on success, -1 when out of memory or the arguments are unusable. Replaces an entry of `fh` (the daemon's numbers are never reused). */
static int direct_read_set (uint64_t fh, const char *prefix, uint64_t size, uint32_t block_size) {
  direct_read_t *e = direct_read_make(fh, prefix, size, block_size);
  if (e == NULL) return -1;
  direct_read_clear(fh);
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_link(e);
  pthread_mutex_unlock(&direct_reads_lock);
  return 0;
}

/** As direct_read_set for a number the binding chose, but 1 (nothing done) when `fh` is registered already: a live handle is never replaced. */
static int direct_read_add (uint64_t fh, const char *prefix, uint64_t size, uint32_t block_size) {
  direct_read_t *e = direct_read_make(fh, prefix, size, block_size);
  if (e == NULL) return -1;
  pthread_mutex_lock(&direct_reads_lock);
  int taken = *direct_read_slot(fh) != NULL;
  if (!taken) direct_read_link(e);
  pthread_mutex_unlock(&direct_reads_lock);
  if (taken) direct_read_free(e);
  return taken ? 1 : 0;
}

static int direct_read_registered (uint64_t fh) {
  pthread_mutex_lock(&direct_reads_lock);
  int found = *direct_read_slot(fh) != NULL;
  pthread_mutex_unlock(&direct_reads_lock);
  return found;
}

/** Copies the block-file prefix `fh` is registered with into `out` (max bytes) and its object's size; 0, or -1 when not registered. */
static int direct_read_info (uint64_t fh, char *out, size_t max, uint64_t *size) {
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t *e = *direct_read_slot(fh);
  int found = e != NULL && strlen(e->prefix) < max;
  if (found) {
    strcpy(out, e->prefix);
    *size = e->size;
  }
  pthread_mutex_unlock(&direct_reads_lock);
  return found ? 0 : -1;
}

static uint32_t read_u32le (const unsigned char *b) {
  return (uint32_t) b[0] | ((uint32_t) b[1] << 8) | ((uint32_t) b[2] << 16) | ((uint32_t) b[3] << 24);
}

/**
 * The CRC-32 (zlib's, as block-file-format.ts computes it with node:zlib) of `len` bytes,
 * continuing from `initial`. ISA-L's (Debian's libisal) picks the widest carry-less multiply
 * the CPU has (VPCLMULQDQ with AVX-512 here): 256 KiB just copied in by a read checked in
 * 4.7 µs, against 18 µs with libdeflate 1.14's (one PCLMULQDQ lane), whose checks of every
 * direct read were 11 % of the daemon's samples in warm random 256 KiB reads (session 24),
 * and ~5 GB/s for the system zlib's.
 */
static uint32_t block_crc32_from (uint32_t initial, const void *data, size_t len) {
  return crc32_gzip_refl(initial, data, len);
}

static uint32_t block_crc32 (const void *data, size_t len) {
  return block_crc32_from(0, data, len);
}

/** The fixed header and one CRC-32 per chunk of a block of `length` bytes: what the checks read. */
static uint32_t block_table_end (uint32_t length) {
  return BLOCK_FIXED_HEADER_BYTES + 4 * ((length + BLOCK_CHUNK_BYTES - 1) >> BLOCK_CHUNK_SHIFT);
}

/** Whether a block of `length` bytes is written in version 3 (block-file-format.ts). */
static int block_aligned (uint32_t length) {
  return length > 0 && length % BLOCK_DATA_ALIGN == 0 && block_table_end(length) <= BLOCK_DATA_ALIGN;
}

/** Bytes before the data in a block file of `length` bytes of data. */
static uint32_t block_header_bytes (uint32_t length) {
  return block_aligned(length) ? BLOCK_DATA_ALIGN : block_table_end(length);
}

/**
 * Whether `header` (with its chunk table) is a header for `length` bytes in the version written
 * for that length, whose table is intact. A version-2 file of a length now written in version 3
 * (an older release's) is not: the read goes to JS, which reads it.
 */
static int direct_read_header_valid (const unsigned char *header, uint32_t length) {
  uint32_t table = block_table_end(length) - BLOCK_FIXED_HEADER_BYTES;
  return read_u32le(header) == BLOCK_MAGIC && header[4] == (block_aligned(length) ? BLOCK_ALIGNED_VERSION : BLOCK_VERSION) &&
    header[5] == BLOCK_CHUNK_SHIFT && read_u32le(header + 8) == length &&
    block_crc32(header + BLOCK_FIXED_HEADER_BYTES, table) == read_u32le(header + 12);
}

/** Whether chunks first… of the data, held in `data` (which starts at chunk `first`, `bytes` long), match their CRC-32s in `header`. */
static int direct_read_chunks_valid (const unsigned char *header, uint32_t first, const char *data, uint32_t bytes) {
  for (uint32_t at = 0, n = first; at < bytes; at += BLOCK_CHUNK_BYTES, n++) {
    uint32_t len = bytes - at < BLOCK_CHUNK_BYTES ? bytes - at : BLOCK_CHUNK_BYTES;
    if (block_crc32(data + at, len) != read_u32le(header + BLOCK_FIXED_HEADER_BYTES + 4 * n)) return 0;
  }
  return 1;
}

/** Block `index`'s file, open (block-fds.h: kept open between reads); NULL when it cannot be opened. */
static block_fd_t *direct_read_open (const char *prefix, uint64_t index) {
  char path[DIRECT_READ_PATH_MAX];
  snprintf(path, sizeof path, "%s%" PRIu64, prefix, index);
  return block_fd_acquire(path);
}

/** Reads block `index` (header, chunk table and `length` bytes of data) into `data` and checks every chunk; 0 when good. */
static int direct_read_block (const char *prefix, uint64_t index, char *data, uint32_t length) {
  block_fd_t *file = direct_read_open(prefix, index);
  if (file == NULL) return -1;
  unsigned char header[BLOCK_HEADER_MAX];
  uint32_t hb = block_header_bytes(length);
  struct iovec iov[2] = { { header, hb }, { data, length } };
  ssize_t n;
  do n = preadv(file->fd, iov, 2, 0); while (n < 0 && errno == EINTR);
  block_fd_release(file);
  int ok = n == (ssize_t) hb + length && direct_read_header_valid(header, length) && direct_read_chunks_valid(header, 0, data, length);
  if (ok) direct_read_count(&direct_read_blocks, 1);
  return ok ? 0 : -1;
}

static int direct_pread_all (int fd, void *buf, size_t len, off_t at) {
  ssize_t n;
  do n = pread(fd, buf, len, at); while (n < 0 && errno == EINTR);
  return n == (ssize_t) len ? 0 : -1;
}

/**
 * The header and chunk table of the block open as `file` (of `length` bytes of data),
 * checked: the copy kept with its descriptor once one read checked it (the file is never
 * changed in place by the daemon, and each chunk read is still checked against it), else
 * read from disk now and kept. NULL when unreadable or not a good header.
 */
/** Keeps a copy of a checked `header`'s fixed part and chunk table with `file`, unless one is kept already (version 3's padding is no part of it). */
static void direct_read_keep_header (block_fd_t *file, const unsigned char *header, uint32_t length) {
  unsigned char *copy = malloc(block_table_end(length));
  if (copy == NULL) return;
  memcpy(copy, header, block_table_end(length));
  unsigned char *none = NULL;
  if (!__atomic_compare_exchange_n(&file->header, &none, copy, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) free(copy);
}

static const unsigned char *direct_read_header (block_fd_t *file, uint32_t length, unsigned char *scratch) {
  uint32_t hb = block_header_bytes(length);
  const unsigned char *kept = __atomic_load_n(&file->header, __ATOMIC_ACQUIRE);
  if (kept != NULL && read_u32le(kept + 8) == length) return kept; // checked for this length (its header and table)
  if (direct_pread_all(file->fd, scratch, hb, 0) != 0 || !direct_read_header_valid(scratch, length)) return NULL;
  if (kept == NULL) direct_read_keep_header(file, scratch, length);
  return scratch;
}

/**
 * Serves [within, within+want) of block `index` from just the chunks it covers: the
 * header and chunk table (kept with the open file after the first read), then those
 * chunks (straight into `buf` when the read is chunk-aligned, else through a scratch
 * buffer), checked. 0 when good.
 */
static int direct_read_chunks (const char *prefix, uint64_t index, uint32_t length, char *buf, uint32_t within, uint32_t want) {
  block_fd_t *file = direct_read_open(prefix, index);
  if (file == NULL) return -1;
  int fd = file->fd;
  unsigned char scratch_header[BLOCK_HEADER_MAX];
  uint32_t hb = block_header_bytes(length);
  uint32_t first = within >> BLOCK_CHUNK_SHIFT;
  uint32_t from = first << BLOCK_CHUNK_SHIFT;
  uint32_t last_end = ((within + want - 1) >> BLOCK_CHUNK_SHIFT) + 1;
  uint32_t to = (uint64_t) last_end << BLOCK_CHUNK_SHIFT < length ? last_end << BLOCK_CHUNK_SHIFT : length;
  int aligned = from == within && to == within + want;
  char *scratch = aligned ? buf : malloc(to - from);
  // The chunks' place follows from the block's length: ask for them first, so that the disk
  // reads them while it reads the header, if that must be read too (one wait, not two), and
  // reads just them (a pread would leave the amount to the read-ahead state of a descriptor
  // every reader of the block shares).
  posix_fadvise(fd, (off_t) hb + from, to - from, POSIX_FADV_WILLNEED);
  const unsigned char *header = scratch == NULL ? NULL : direct_read_header(file, length, scratch_header);
  int ok = header != NULL && direct_pread_all(fd, scratch, to - from, (off_t) hb + from) == 0 && direct_read_chunks_valid(header, first, scratch, to - from);
  block_fd_release(file);
  if (ok && !aligned) memcpy(buf, scratch + (within - from), want);
  if (!aligned) free(scratch);
  if (ok) direct_read_count(&direct_read_chunk_reads, 1);
  return ok ? 0 : -1;
}

/**
 * The daemon has just renamed block file `path` into place, with `header` (its header and
 * chunk table): an older descriptor of that path is forgotten, and the new file is kept
 * open with the header, so that its first direct read costs neither an open (after the
 * page cache was dropped, a read of the inode from disk) nor a header read. A header that
 * does not check is not kept (the read then reads and checks the file's own). The pages of a
 * block of PAGE_DROP_MIN_BYTES or more leave the page cache once on disk (page-dropper.h),
 * when it was written through the page cache (`cached`).
 * Runs on the JS thread: the open is of a path just renamed into place, whose dentry and
 * inode are in memory, so it does not wait for the disk.
 */
static void direct_read_prime (const char *path, const unsigned char *header, size_t header_len, int cached) {
  block_fd_forget(path);
  block_fd_t *file = block_fd_max_now() > 0 ? block_fd_acquire(path) : NULL;
  if (file == NULL) return;
  uint32_t length = header_len >= BLOCK_FIXED_HEADER_BYTES ? read_u32le(header + 8) : 0;
  uint32_t hb = block_header_bytes(length);
  int good = length > 0 && length <= DIRECT_READ_BLOCK_MAX && header_len == hb && direct_read_header_valid(header, length);
  if (good) direct_read_keep_header(file, header, length);
  // A file written past the page cache (O_DIRECT, block-writes.h) has no pages to drop.
  if (good && cached && length >= PAGE_DROP_MIN_BYTES) page_dropper_add(file);
  else block_fd_release(file);
}

/** Blocks read ahead (into the page cache) when a handle's reads go on into the next block. */
#define DIRECT_READ_AHEAD_BLOCKS 2

/**
 * Asks the kernel to read blocks index+1 … index+DIRECT_READ_AHEAD_BLOCKS of the object
 * into the page cache now (posix_fadvise WILLNEED), so that the next reads of a
 * sequential reader find their block files in memory instead of waiting for the disk.
 */
static void direct_read_ahead (const char *prefix, uint64_t index, uint64_t blocks) {
  for (uint64_t k = index + 1; k <= index + DIRECT_READ_AHEAD_BLOCKS && k < blocks; k++) {
    block_fd_t *file = direct_read_open(prefix, k);
    if (file == NULL) return;
    posix_fadvise(file->fd, 0, 0, POSIX_FADV_WILLNEED);
    block_fd_release(file);
  }
}

/** Bytes served into `buf`, or -1: let JS answer this read. */
static int direct_read (uint64_t fh, char *buf, size_t len, off_t offset) {
  char prefix[DIRECT_READ_PATH_MAX];
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t *e = *direct_read_slot(fh);
  uint64_t size = 0;
  uint32_t bs = 0;
  if (e != NULL) {
    size = e->size;
    bs = e->block_size;
    strcpy(prefix, e->prefix);
  }
  pthread_mutex_unlock(&direct_reads_lock);
  if (e == NULL) return -1;
  if (offset < 0) return -1;
  if ((uint64_t) offset >= size) return 0; // at or past the end of the object
  uint64_t to_end = size - (uint64_t) offset;
  size_t want = len < to_end ? len : (size_t) to_end;
  int served = (int) want;
  // A read that goes on from where the handle's last one ended (in that block or the next:
  // the kernel's windows are not aligned to blocks) and enters a new block is sequential:
  // the blocks after it are read ahead. A random read that merely crosses a boundary is not.
  int64_t first_block = (int64_t) ((uint64_t) offset / bs), last_block = (int64_t) (((uint64_t) offset + want - 1) / bs);
  int64_t previous = __atomic_exchange_n(&e->last_read, last_block, __ATOMIC_RELAXED);
  if (first_block >= previous && first_block <= previous + 1 && last_block > previous) direct_read_ahead(prefix, (uint64_t) last_block, (size + bs - 1) / bs);
  // Block by block (a read may cross a block boundary: the kernel's windows are not aligned to blocks).
  for (size_t done = 0; done < want && served >= 0;) {
    uint64_t at = (uint64_t) offset + done;
    uint64_t index = at / bs;
    uint64_t start = index * bs;
    uint32_t length = (uint32_t) (size - start < bs ? size - start : bs);
    uint32_t within = (uint32_t) (at - start);
    uint32_t part = (uint32_t) (want - done < (size_t) (length - within) ? want - done : (size_t) (length - within));
    int ok = within == 0 && part == length ? direct_read_block(prefix, index, buf + done, length)
      : direct_read_chunks(prefix, index, length, buf + done, within, part);
    if (ok != 0) served = -1;
    done += part;
  }
  if (served < 0) {
    direct_read_count(&direct_read_fallbacks, 1);
    return -1;
  }
  direct_read_count(&direct_read_hits, 1);
  direct_read_count(&direct_read_bytes, (uint64_t) served);
  return served;
}

/*
 * Releases of registered handles are answered here too: the entry is cleared and its
 * fh queued for the daemon, which takes the queue in batches (at its next open, and on
 * a timer) to forget its side of the handle. A full queue sends releases to JS again.
 */
#define DIRECT_RELEASED_MAX 65536
static uint32_t direct_released[DIRECT_RELEASED_MAX];
static size_t direct_released_count;

/** 0 when the release of `fh` was taken here, -1 when JS must answer it. */
static int direct_read_release (uint64_t fh) {
  if (fh > UINT32_MAX || !direct_read_registered(fh)) return -1;
  pthread_mutex_lock(&direct_reads_lock);
  int queued = direct_released_count < DIRECT_RELEASED_MAX;
  if (queued) direct_released[direct_released_count++] = (uint32_t) fh;
  pthread_mutex_unlock(&direct_reads_lock);
  if (!queued) return -1;
  direct_read_clear(fh);
  return 0;
}

/** Moves up to `max` released handles into `out`; returns how many. */
static size_t direct_read_take_released (uint32_t *out, size_t max) {
  pthread_mutex_lock(&direct_reads_lock);
  size_t n = direct_released_count < max ? direct_released_count : max;
  memcpy(out, direct_released + (direct_released_count - n), n * sizeof(uint32_t));
  direct_released_count -= n;
  pthread_mutex_unlock(&direct_reads_lock);
  return n;
}

/** out[0..4] = reads served here, their bytes, reads handed back to JS, whole block files read and checked, partial reads served from their chunks. */
static void direct_read_stats (double *out) {
  out[0] = (double) __atomic_load_n(&direct_read_hits, __ATOMIC_RELAXED);
  out[1] = (double) __atomic_load_n(&direct_read_bytes, __ATOMIC_RELAXED);
  out[2] = (double) __atomic_load_n(&direct_read_fallbacks, __ATOMIC_RELAXED);
  out[3] = (double) __atomic_load_n(&direct_read_blocks, __ATOMIC_RELAXED);
  out[4] = (double) __atomic_load_n(&direct_read_chunk_reads, __ATOMIC_RELAXED);
  out[5] = (double) __atomic_load_n(&direct_read_flushes, __ATOMIC_RELAXED);
}

#endif
