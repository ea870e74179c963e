// s3cachefs: reads of cached blocks answered on the FUSE thread.
//
// The daemon registers an open handle (fh) whose object is entirely on local disk:
// the common prefix of its block files (`<cache>/blocks/<aa>/<objectId>.`, block i
// being that prefix followed by i), the object's size and the block size. A FUSE
// read of that handle is then served here, without a round trip through the JS
// event loop: one preadv of a block's 16-byte header and its data, the header and
// CRC-32 checked exactly as the JS reader checks them (block-file-format.ts).
//
// - A read that covers a whole block (every file up to 128 KiB, the kernel's largest
//   FUSE read here) goes straight into libfuse's reply buffer.
// - A read of part of a block loads and checks that block once per handle and serves
//   the parts from that checked copy, as the memory cache serves a checked block (four
//   copies per handle, the most recently used; each loaded once however many threads
//   ask; at most 64 MiB of copies in all). A read across a block boundary takes its
//   two parts in turn. When a handle loads blocks in order, the next two block files
//   are read ahead into the page cache (posix_fadvise WILLNEED).
// - Whatever cannot be served that way (a block evicted, corrupt or unreadable; the
//   bound on copies reached) returns -1 and the read goes to JS as before, which
//   refetches and repairs.
//
// The table is keyed by fh, guarded by one mutex held only to find an entry and copy
// its fields; each entry's kept copy has a mutex of its own. The daemon clears an entry
// at release (or the release is answered here, below), and the kernel sends no read of
// a handle after its release, so an entry never goes away under a read of it.
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
#include <zlib.h>

#define DIRECT_READ_BUCKETS 4096
#define DIRECT_READ_PATH_MAX 4096
#define BLOCK_HEADER_BYTES 16
#define BLOCK_MAGIC 0x42433353u /* 'S3CB' read as uint32 LE */
#define BLOCK_VERSION 1
/** Bytes of checked blocks kept for partial reads, all handles together. */
#define DIRECT_READ_KEPT_MAX (64u << 20)
/** Blocks kept per handle. */
#define DIRECT_READ_KEPT_SLOTS 4

typedef struct direct_read_s {
  uint64_t fh;
  uint64_t size;
  uint32_t block_size;
  char *prefix;
  /**
   * Checked blocks kept for reads of parts of them (the kernel's read-ahead reads one
   * handle from several threads, across two blocks at a time): index (-1: none), data,
   * and the index being loaded, so threads wanting one block load it once.
   */
  pthread_mutex_t kept_lock;
  pthread_cond_t kept_loaded;
  int64_t kept_index[DIRECT_READ_KEPT_SLOTS];
  char *kept[DIRECT_READ_KEPT_SLOTS];
  uint32_t kept_len[DIRECT_READ_KEPT_SLOTS];
  uint64_t kept_used[DIRECT_READ_KEPT_SLOTS];
  uint64_t kept_clock;
  int64_t loading[DIRECT_READ_KEPT_SLOTS];
  /** The block loaded last, to notice a sequential reader and have the next blocks read ahead. */
  int64_t last_loaded;
  struct direct_read_s *next;
} direct_read_t;

static direct_read_t *direct_reads[DIRECT_READ_BUCKETS];
static pthread_mutex_t direct_reads_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t direct_read_hits, direct_read_bytes, direct_read_fallbacks, direct_read_blocks;
static uint64_t direct_read_kept;

static void direct_read_count (uint64_t *counter, uint64_t n) {
  __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static direct_read_t **direct_read_slot (uint64_t fh) {
  direct_read_t **p = &direct_reads[fh % DIRECT_READ_BUCKETS];
  while (*p != NULL && (*p)->fh != fh) p = &(*p)->next;
  return p;
}

static void direct_read_free (direct_read_t *e) {
  for (int i = 0; i < DIRECT_READ_KEPT_SLOTS; i++) {
    if (e->kept[i] != NULL) __atomic_sub_fetch(&direct_read_kept, e->kept_len[i], __ATOMIC_RELAXED);
    free(e->kept[i]);
  }
  pthread_cond_destroy(&e->kept_loaded);
  pthread_mutex_destroy(&e->kept_lock);
  free(e->prefix);
  free(e);
}

static void direct_read_clear (uint64_t fh) {
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t **p = direct_read_slot(fh);
  direct_read_t *e = *p;
  if (e != NULL) *p = e->next;
  pthread_mutex_unlock(&direct_reads_lock);
  if (e != NULL) direct_read_free(e);
}

/** 0 on success, -1 when out of memory or the arguments are unusable. */
static int direct_read_set (uint64_t fh, const char *prefix, uint64_t size, uint32_t block_size) {
  size_t n = strlen(prefix);
  if (n == 0 || n + 24 >= DIRECT_READ_PATH_MAX || size == 0 || block_size == 0) return -1;
  direct_read_t *e = calloc(1, sizeof(direct_read_t));
  char *copy = malloc(n + 1);
  if (e == NULL || copy == NULL) {
    free(e);
    free(copy);
    return -1;
  }
  memcpy(copy, prefix, n + 1);
  e->fh = fh;
  e->size = size;
  e->block_size = block_size;
  e->prefix = copy;
  for (int i = 0; i < DIRECT_READ_KEPT_SLOTS; i++) e->kept_index[i] = e->loading[i] = -1;
  e->last_loaded = -1;
  pthread_mutex_init(&e->kept_lock, NULL);
  pthread_cond_init(&e->kept_loaded, NULL);
  direct_read_clear(fh);
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t **p = &direct_reads[fh % DIRECT_READ_BUCKETS];
  e->next = *p;
  *p = e;
  pthread_mutex_unlock(&direct_reads_lock);
  return 0;
}

static int direct_read_registered (uint64_t fh) {
  pthread_mutex_lock(&direct_reads_lock);
  int found = *direct_read_slot(fh) != NULL;
  pthread_mutex_unlock(&direct_reads_lock);
  return found;
}

static uint32_t read_u32le (const unsigned char *b) {
  return (uint32_t) b[0] | ((uint32_t) b[1] << 8) | ((uint32_t) b[2] << 16) | ((uint32_t) b[3] << 24);
}

/** Whether `header` describes `length` bytes whose CRC-32 matches `data`. */
static int direct_read_valid (const unsigned char *header, const char *data, uint32_t length) {
  return read_u32le(header) == BLOCK_MAGIC && header[4] == BLOCK_VERSION && read_u32le(header + 8) == length &&
    (uint32_t) crc32(0L, (const Bytef *) data, length) == read_u32le(header + 12);
}

/** Reads block `index` (header and `length` bytes of data) into `data` and checks it; 0 when good. */
static int direct_read_block (const char *prefix, uint64_t index, char *data, uint32_t length) {
  char path[DIRECT_READ_PATH_MAX];
  snprintf(path, sizeof path, "%s%" PRIu64, prefix, index);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned char header[BLOCK_HEADER_BYTES];
  struct iovec iov[2] = { { header, BLOCK_HEADER_BYTES }, { data, length } };
  ssize_t n;
  do n = preadv(fd, iov, 2, 0); while (n < 0 && errno == EINTR);
  close(fd);
  int ok = n == (ssize_t) BLOCK_HEADER_BYTES + length && direct_read_valid(header, data, length);
  if (ok) direct_read_count(&direct_read_blocks, 1);
  return ok ? 0 : -1;
}

/** The slot holding (or loading) block `index`, or -1. Called with kept_lock held. */
static int direct_read_slot_of (int64_t index, const int64_t *which) {
  for (int i = 0; i < DIRECT_READ_KEPT_SLOTS; i++) if (which[i] == index) return i;
  return -1;
}

/** Blocks read ahead (into the page cache) when a handle's loads are sequential. */
#define DIRECT_READ_AHEAD_BLOCKS 2

/**
 * Asks the kernel to read blocks index+1 … index+DIRECT_READ_AHEAD_BLOCKS of the object
 * into the page cache now (posix_fadvise WILLNEED), so that the next loads of a
 * sequential reader find their block files in memory instead of waiting for the disk.
 */
static void direct_read_ahead (const char *prefix, uint64_t index, uint64_t blocks) {
  for (uint64_t k = index + 1; k <= index + DIRECT_READ_AHEAD_BLOCKS && k < blocks; k++) {
    char path[DIRECT_READ_PATH_MAX];
    snprintf(path, sizeof path, "%s%" PRIu64, prefix, k);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    close(fd);
  }
}

/**
 * Copies [within, within+want) of block `index` from the entry's kept copies, loading
 * and checking the block first (once, whichever thread asks first; the others wait for
 * it) into the least recently used slot. -1 when it cannot.
 */
static int direct_read_part (direct_read_t *e, const char *prefix, uint64_t index, uint32_t length, char *buf, uint32_t within, uint32_t want) {
  pthread_mutex_lock(&e->kept_lock);
  int slot;
  for (;;) {
    int k = direct_read_slot_of((int64_t) index, e->kept_index);
    if (k >= 0) {
      memcpy(buf, e->kept[k] + within, want);
      e->kept_used[k] = ++e->kept_clock;
      pthread_mutex_unlock(&e->kept_lock);
      return 0;
    }
    // Being loaded by another thread, or every slot busy loading: wait for a load to end.
    slot = -1;
    if (direct_read_slot_of((int64_t) index, e->loading) < 0) {
      for (int i = 0; i < DIRECT_READ_KEPT_SLOTS; i++) {
        if (e->loading[i] >= 0) continue;
        if (slot < 0 || e->kept_used[i] < e->kept_used[slot]) slot = i; // least recently used
      }
      if (slot >= 0) break;
    }
    pthread_cond_wait(&e->kept_loaded, &e->kept_lock);
  }
  e->loading[slot] = (int64_t) index;
  pthread_mutex_unlock(&e->kept_lock);
  char *data = NULL;
  int ok = __atomic_add_fetch(&direct_read_kept, length, __ATOMIC_RELAXED) <= DIRECT_READ_KEPT_MAX;
  if (ok) {
    data = malloc(length);
    ok = data != NULL && direct_read_block(prefix, index, data, length) == 0;
  }
  if (!ok) {
    free(data);
    data = NULL;
    __atomic_sub_fetch(&direct_read_kept, length, __ATOMIC_RELAXED);
  } else {
    memcpy(buf, data + within, want);
  }
  pthread_mutex_lock(&e->kept_lock);
  char *old = NULL;
  uint32_t old_len = 0;
  if (ok) {
    old = e->kept[slot];
    old_len = e->kept_len[slot];
    e->kept[slot] = data;
    e->kept_len[slot] = length;
    e->kept_index[slot] = (int64_t) index;
    e->kept_used[slot] = ++e->kept_clock;
  }
  int sequential = ok && e->last_loaded + 1 == (int64_t) index;
  if (ok) e->last_loaded = (int64_t) index;
  uint64_t blocks = (e->size + e->block_size - 1) / e->block_size;
  e->loading[slot] = -1;
  pthread_cond_broadcast(&e->kept_loaded);
  pthread_mutex_unlock(&e->kept_lock);
  if (old != NULL) __atomic_sub_fetch(&direct_read_kept, old_len, __ATOMIC_RELAXED);
  free(old);
  if (sequential) direct_read_ahead(prefix, index, blocks);
  return ok ? 0 : -1;
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
  // Block by block (a read may cross a block boundary: the kernel's windows are not aligned to blocks).
  for (size_t done = 0; done < want && served >= 0;) {
    uint64_t at = (uint64_t) offset + done;
    uint64_t index = at / bs;
    uint64_t start = index * bs;
    uint32_t length = (uint32_t) (size - start < bs ? size - start : bs);
    uint32_t within = (uint32_t) (at - start);
    uint32_t part = (uint32_t) (want - done < (size_t) (length - within) ? want - done : (size_t) (length - within));
    int ok = within == 0 && part == length
      ? direct_read_block(prefix, index, buf + done, length)
      : direct_read_part(e, prefix, index, length, buf + done, within, part);
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

/** out[0..3] = reads served here, their bytes, reads handed back to JS, block files read and checked. */
static void direct_read_stats (double *out) {
  out[0] = (double) __atomic_load_n(&direct_read_hits, __ATOMIC_RELAXED);
  out[1] = (double) __atomic_load_n(&direct_read_bytes, __ATOMIC_RELAXED);
  out[2] = (double) __atomic_load_n(&direct_read_fallbacks, __ATOMIC_RELAXED);
  out[3] = (double) __atomic_load_n(&direct_read_blocks, __ATOMIC_RELAXED);
}

#endif
