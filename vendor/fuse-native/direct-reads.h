// s3cachefs: reads of cached blocks answered on the FUSE thread.
//
// The daemon registers an open handle (fh) whose object is one block on local disk:
// the block file's path and the object's length. A FUSE read of that handle is then
// served here: one preadv of the block's 16-byte header and its data straight into
// libfuse's reply buffer, the header and CRC-32 checked exactly as the JS reader
// checks them (block-file-format.ts). A read of part of the block (objects over
// 128 KiB, the kernel's largest FUSE read here) loads and checks the whole block once
// per handle and serves later parts from that checked copy, as the memory cache does
// (at most 64 MiB of such copies in all; beyond that, JS answers).
// Whatever cannot be served that way (the file was evicted or is corrupt) returns -1
// and the read goes to JS as before, which refetches and repairs.
//
// The table is keyed by fh, guarded by one mutex held only to copy a path; the
// daemon clears an entry at release, before its fh can be reused.
#ifndef S3CACHEFS_DIRECT_READS_H
#define S3CACHEFS_DIRECT_READS_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
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

typedef struct direct_read_s {
  uint64_t fh;
  uint32_t length;
  /** The checked block, kept for reads of parts of it (objects over one FUSE read); NULL until needed. */
  char *data;
  char *path;
  struct direct_read_s *next;
} direct_read_t;

static direct_read_t *direct_reads[DIRECT_READ_BUCKETS];
static pthread_mutex_t direct_reads_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t direct_read_hits, direct_read_bytes, direct_read_fallbacks, direct_read_blocks;
/** Bytes of checked blocks kept for partial reads, all handles together, and their bound. */
static uint64_t direct_read_kept;
#define DIRECT_READ_KEPT_MAX (64u << 20)

static direct_read_t **direct_read_slot (uint64_t fh) {
  direct_read_t **p = &direct_reads[fh % DIRECT_READ_BUCKETS];
  while (*p != NULL && (*p)->fh != fh) p = &(*p)->next;
  return p;
}

static void direct_read_clear (uint64_t fh) {
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t **p = direct_read_slot(fh);
  direct_read_t *e = *p;
  if (e != NULL) *p = e->next;
  pthread_mutex_unlock(&direct_reads_lock);
  if (e != NULL) {
    if (e->data != NULL) __atomic_sub_fetch(&direct_read_kept, e->length, __ATOMIC_RELAXED);
    free(e->data);
    free(e->path);
    free(e);
  }
}

/** 0 on success, -1 when out of memory or the path is too long. */
static int direct_read_set (uint64_t fh, const char *path, uint32_t length) {
  size_t n = strlen(path);
  if (n == 0 || n >= DIRECT_READ_PATH_MAX) return -1;
  direct_read_t *e = malloc(sizeof(direct_read_t));
  char *copy = malloc(n + 1);
  if (e == NULL || copy == NULL) {
    free(e);
    free(copy);
    return -1;
  }
  memcpy(copy, path, n + 1);
  e->fh = fh;
  e->length = length;
  e->data = NULL;
  e->path = copy;
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

static void direct_read_count (uint64_t *counter, uint64_t n) {
  __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static uint32_t read_u32le (const unsigned char *b) {
  return (uint32_t) b[0] | ((uint32_t) b[1] << 8) | ((uint32_t) b[2] << 16) | ((uint32_t) b[3] << 24);
}

/** Whether `header` describes `length` bytes whose CRC-32 matches `data`. */
static int direct_read_valid (const unsigned char *header, const char *data, uint32_t length) {
  return read_u32le(header) == BLOCK_MAGIC && header[4] == BLOCK_VERSION && read_u32le(header + 8) == length &&
    (uint32_t) crc32(0L, (const Bytef *) data, length) == read_u32le(header + 12);
}

static ssize_t direct_preadv (int fd, struct iovec *iov, int count, off_t at) {
  ssize_t n;
  do n = preadv(fd, iov, count, at); while (n < 0 && errno == EINTR);
  return n;
}

/** Reads the block file's header and data into `data` and checks them; 0 when good. */
static int direct_read_block (const char *path, char *data, uint32_t length) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned char header[BLOCK_HEADER_BYTES];
  struct iovec iov[2] = { { header, BLOCK_HEADER_BYTES }, { data, length } };
  int ok = direct_preadv(fd, iov, 2, 0) == (ssize_t) BLOCK_HEADER_BYTES + length && direct_read_valid(header, data, length);
  close(fd);
  if (ok) direct_read_count(&direct_read_blocks, 1);
  return ok ? 0 : -1;
}

/**
 * The checked block of entry `fh` kept in memory for reads of parts of it, loading it
 * if needed; NULL when the bound on kept bytes is reached or the block cannot be read.
 * The kernel sends no read of a handle after its release, so the copy stays valid
 * while a read of that handle uses it.
 */
static const char *direct_read_kept_block (uint64_t fh, const char *path, uint32_t length) {
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t *e = *direct_read_slot(fh);
  const char *kept = e != NULL ? e->data : NULL;
  pthread_mutex_unlock(&direct_reads_lock);
  if (kept != NULL) return kept;
  if (__atomic_add_fetch(&direct_read_kept, length, __ATOMIC_RELAXED) > DIRECT_READ_KEPT_MAX) {
    __atomic_sub_fetch(&direct_read_kept, length, __ATOMIC_RELAXED);
    return NULL;
  }
  char *data = malloc(length);
  if (data == NULL || direct_read_block(path, data, length) != 0) {
    free(data);
    __atomic_sub_fetch(&direct_read_kept, length, __ATOMIC_RELAXED);
    return NULL;
  }
  pthread_mutex_lock(&direct_reads_lock);
  e = *direct_read_slot(fh);
  if (e != NULL && e->data == NULL) e->data = data;
  kept = e != NULL ? e->data : NULL;
  pthread_mutex_unlock(&direct_reads_lock);
  if (kept != data) { // another read of this handle kept its copy first (or the handle is gone)
    free(data);
    __atomic_sub_fetch(&direct_read_kept, length, __ATOMIC_RELAXED);
  }
  return kept;
}

/** Bytes served into `buf`, or -1: let JS answer this read. */
static int direct_read (uint64_t fh, char *buf, size_t len, off_t offset) {
  char path[DIRECT_READ_PATH_MAX];
  uint32_t length = 0;
  pthread_mutex_lock(&direct_reads_lock);
  direct_read_t *e = *direct_read_slot(fh);
  if (e != NULL) {
    length = e->length;
    strcpy(path, e->path);
  }
  pthread_mutex_unlock(&direct_reads_lock);
  if (e == NULL) return -1;
  if (offset >= (off_t) length) return 0; // at or past the end of the object
  size_t want = (size_t) length - (size_t) offset < len ? (size_t) length - (size_t) offset : len;
  int served = -1;
  if (offset == 0 && want == length) {
    // The whole object in one read (every file up to 128 KiB): straight into libfuse's buffer.
    if (direct_read_block(path, buf, length) == 0) served = (int) want;
  } else {
    const char *kept = direct_read_kept_block(fh, path, length);
    if (kept != NULL) {
      memcpy(buf, kept + offset, want);
      served = (int) want;
    }
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
