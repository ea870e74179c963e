// s3cachefs: getattr (the kernel's LOOKUP and GETATTR) and read-only open of clean,
// cached files answered on the FUSE thread, without a round trip through the JS event loop.
//
// Each hand-off to JS costs two thread switches each way (the FUSE worker wakes the
// loop and sleeps; the loop wakes it back), and on a virtual machine a switch costs tens
// of microseconds: a warm epoch over small files paid two hand-offs per file (LOOKUP,
// OPEN) on top of what the C FUSE ceiling pays (ARCHITECTURE.md, "Warm opens").
//
// The daemon publishes what it would answer itself: a path's attributes, for as long as
// its metadata cache holds them fresh, and, when every block of the object is on local
// disk, the block files' prefix (direct-reads.h), so that an open for reading gets a
// handle number from this side's range (NATIVE_FH_BASE and up; the daemon's own are
// below it) registered for direct reads at once. The daemon is told of those opens in
// batches (known_files_take_opened) for its prefetchers and the cache's recency; a read
// the binding cannot serve (a block evicted meanwhile) goes to JS, which adopts the handle
// after checking that the path still names the same object version.
//
// The daemon forgets what it published whenever its own answer would change: a path's
// entry (known_file_clear), the children of a directory listed again or forgotten
// (known_files_clear_dir: a generation per hash slot of the parent; a collision only
// forgets more), or everything (known_files_clear_all). All calls come from the JS
// thread in the order of its own changes, so a request answered here after a change
// never sees what the change replaced. The table is bounded (KNOWN_FILES_MAX): a new
// entry replaces an old one when full.
#ifndef S3CACHEFS_KNOWN_FILES_H
#define S3CACHEFS_KNOWN_FILES_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <math.h>
#include <time.h>

#include "direct-reads.h"

#define KNOWN_FILE_BUCKETS 65536
#define KNOWN_FILES_MAX 65536
#define KNOWN_DIR_SLOTS 65536
#define KNOWN_OPENED_MAX 8192

typedef struct known_file_s {
  uint64_t hash;
  uint64_t expires_ns;
  uint32_t dir_slot;
  uint32_t dir_gen;
  uint32_t all_gen;
  uint32_t block_size;
  /** Its st_size is the object's size the direct reads serve. */
  struct stat st;
  /** The object's block files' prefix when all are on disk (an open is answered here), else NULL. */
  char *prefix;
  struct known_file_s *next;
  char path[];
} known_file_t;

static known_file_t *known_files[KNOWN_FILE_BUCKETS];
static size_t known_files_count;
static size_t known_evict_cursor;
static uint32_t known_dir_gen[KNOWN_DIR_SLOTS];
static uint32_t known_all_gen;
static uint32_t native_fh_next;
static pthread_mutex_t known_files_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t known_getattrs, known_opens, known_opened_dropped;
/** Paths opened here since the daemon last took them (malloc'd copies), guarded by known_files_lock. */
static char *known_opened[KNOWN_OPENED_MAX];
static size_t known_opened_count;

static uint64_t known_hash (const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
  return h;
}

/** The generation slot of the directory holding `path` ("/" for "/a"). */
static uint32_t known_parent_slot (const char *path, size_t n) {
  size_t end = n;
  while (end > 0 && path[end - 1] != '/') end--;
  if (end > 1) end--; // "/a/b" -> "/a"; "/a" -> "/"
  return (uint32_t) (known_hash(path, end) % KNOWN_DIR_SLOTS);
}

static uint64_t known_now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void known_file_free (known_file_t *e) {
  free(e->prefix);
  free(e);
}

/** Unlinks and returns the entry *p (lock held). */
static known_file_t *known_unlink (known_file_t **p) {
  known_file_t *e = *p;
  *p = e->next;
  known_files_count--;
  return e;
}

/** The slot pointing at the entry for `path`, or at the NULL ending its chain (lock held). */
static known_file_t **known_slot (const char *path, uint64_t h) {
  known_file_t **p = &known_files[h % KNOWN_FILE_BUCKETS];
  while (*p != NULL && ((*p)->hash != h || strcmp((*p)->path, path) != 0)) p = &(*p)->next;
  return p;
}

/** The live entry for `path`, or NULL; an expired or forgotten one is dropped (lock held; `dropped` gets it to free). */
static known_file_t *known_find (const char *path, known_file_t **dropped) {
  size_t n = strlen(path);
  uint64_t h = known_hash(path, n);
  known_file_t **p = known_slot(path, h);
  known_file_t *e = *p;
  if (e == NULL) return NULL;
  if (e->all_gen == known_all_gen && e->dir_gen == known_dir_gen[e->dir_slot] && known_now_ns() < e->expires_ns) return e;
  *dropped = known_unlink(p);
  return NULL;
}

/** 0 with `out` filled when `path` is published and fresh, else -1 (ask JS). */
static int known_file_stat (const char *path, struct stat *out) {
  known_file_t *dropped = NULL;
  pthread_mutex_lock(&known_files_lock);
  known_file_t *e = known_find(path, &dropped);
  if (e != NULL) *out = e->st;
  pthread_mutex_unlock(&known_files_lock);
  if (dropped != NULL) known_file_free(dropped);
  if (e == NULL) return -1;
  __atomic_add_fetch(&known_getattrs, 1, __ATOMIC_RELAXED);
  return 0;
}

/** The daemon's own test (wantsWrite, fs-limits.ts): only plain read-only opens are answered here. */
static int known_open_flags_ok (int flags) {
  return (flags & O_ACCMODE) == O_RDONLY && (flags & O_TRUNC) == 0;
}

/** 0 with `*fh` set when the open of `path` was answered here (a handle registered for direct reads), else -1. */
static int known_file_open (const char *path, int flags, uint64_t *fh) {
  if (!known_open_flags_ok(flags)) return -1;
  char prefix[DIRECT_READ_PATH_MAX];
  uint64_t size = 0;
  uint32_t block_size = 0;
  known_file_t *dropped = NULL;
  pthread_mutex_lock(&known_files_lock);
  known_file_t *e = known_find(path, &dropped);
  int found = e != NULL && e->prefix != NULL;
  if (found) {
    strcpy(prefix, e->prefix);
    size = (uint64_t) e->st.st_size;
    block_size = e->block_size;
  }
  pthread_mutex_unlock(&known_files_lock);
  if (dropped != NULL) known_file_free(dropped);
  if (!found) return -1;
  // Numbers wrap after 2^31 opens: one still open then is skipped, never replaced.
  int added = 1;
  for (int tries = 0; tries < 8 && added == 1; tries++) {
    *fh = NATIVE_FH_BASE | (__atomic_fetch_add(&native_fh_next, 1, __ATOMIC_RELAXED) & 0x7fffffffu);
    added = direct_read_add(*fh, prefix, size, block_size);
  }
  if (added != 0) return -1;
  char *copy = strdup(path);
  pthread_mutex_lock(&known_files_lock);
  int queued = copy != NULL && known_opened_count < KNOWN_OPENED_MAX;
  if (queued) known_opened[known_opened_count++] = copy;
  else known_opened_dropped++;
  pthread_mutex_unlock(&known_files_lock);
  if (!queued) free(copy);
  __atomic_add_fetch(&known_opens, 1, __ATOMIC_RELAXED);
  return 0;
}

/** Drops one entry to make room (lock held): the next non-empty bucket after a rotating cursor. */
static known_file_t *known_evict_one (void) {
  for (size_t i = 0; i < KNOWN_FILE_BUCKETS; i++) {
    known_file_t **p = &known_files[(known_evict_cursor + i) % KNOWN_FILE_BUCKETS];
    if (*p != NULL) {
      known_evict_cursor = (known_evict_cursor + i + 1) % KNOWN_FILE_BUCKETS;
      return known_unlink(p);
    }
  }
  return NULL;
}

/** Publishes `path` for `ttl_ms`; `prefix` (may be NULL) makes its read-only opens answerable here. 0, or -1 when refused. */
static int known_file_set (const char *path, const struct stat *st, double ttl_ms, const char *prefix, uint32_t block_size) {
  size_t n = strlen(path);
  if (n == 0 || path[0] != '/' || !(ttl_ms > 0)) return -1;
  if (prefix != NULL && (strlen(prefix) == 0 || strlen(prefix) + 24 >= DIRECT_READ_PATH_MAX || st->st_size <= 0 || block_size == 0 ||
                         block_size > DIRECT_READ_BLOCK_MAX)) prefix = NULL;
  known_file_t *e = malloc(sizeof(known_file_t) + n + 1);
  char *prefix_copy = prefix == NULL ? NULL : strdup(prefix);
  if (e == NULL || (prefix != NULL && prefix_copy == NULL)) {
    free(e);
    free(prefix_copy);
    return -1;
  }
  memcpy(e->path, path, n + 1);
  e->hash = known_hash(path, n);
  e->dir_slot = known_parent_slot(path, n);
  e->st = *st;
  e->prefix = prefix_copy;
  e->block_size = block_size;
  // An indefinite TTL (--metadata-ttl indefinite) is Infinity: never expires (a cast of it would be undefined).
  e->expires_ns = isfinite(ttl_ms) && ttl_ms < 1e12 ? known_now_ns() + (uint64_t) (ttl_ms * 1e6) : UINT64_MAX;
  known_file_t *old = NULL, *evicted = NULL;
  pthread_mutex_lock(&known_files_lock);
  e->all_gen = known_all_gen;
  e->dir_gen = known_dir_gen[e->dir_slot];
  known_file_t **p = known_slot(path, e->hash);
  if (*p != NULL) old = known_unlink(p);
  else if (known_files_count >= KNOWN_FILES_MAX) evicted = known_evict_one();
  e->next = known_files[e->hash % KNOWN_FILE_BUCKETS];
  known_files[e->hash % KNOWN_FILE_BUCKETS] = e;
  known_files_count++;
  pthread_mutex_unlock(&known_files_lock);
  if (old != NULL) known_file_free(old);
  if (evicted != NULL) known_file_free(evicted);
  return 0;
}

static void known_file_clear (const char *path) {
  known_file_t *old = NULL;
  pthread_mutex_lock(&known_files_lock);
  known_file_t **p = known_slot(path, known_hash(path, strlen(path)));
  if (*p != NULL) old = known_unlink(p);
  pthread_mutex_unlock(&known_files_lock);
  if (old != NULL) known_file_free(old);
}

/** Forgets every entry directly inside the directory `dir` (and those sharing its slot). */
static void known_files_clear_dir (const char *dir) {
  size_t n = strlen(dir);
  pthread_mutex_lock(&known_files_lock);
  known_dir_gen[known_hash(dir, n) % KNOWN_DIR_SLOTS]++;
  pthread_mutex_unlock(&known_files_lock);
}

static void known_files_clear_all (void) {
  pthread_mutex_lock(&known_files_lock);
  known_all_gen++;
  pthread_mutex_unlock(&known_files_lock);
}

/** Moves opened paths, oldest first, into `out` as NUL-terminated strings while they fit; returns the bytes written. */
static size_t known_files_take_opened (char *out, size_t max) {
  size_t used = 0, taken = 0;
  pthread_mutex_lock(&known_files_lock);
  for (; taken < known_opened_count; taken++) {
    char *s = known_opened[taken];
    size_t len = strlen(s) + 1;
    if (used + len > max) break;
    memcpy(out + used, s, len);
    used += len;
    free(s);
  }
  memmove(known_opened, known_opened + taken, (known_opened_count - taken) * sizeof(char *));
  known_opened_count -= taken;
  pthread_mutex_unlock(&known_files_lock);
  return used;
}

/** out[0..4] = getattrs answered here, opens answered here, open reports dropped (queue full), entries held, handles opened here and open now. */
static void known_files_stats (double *out) {
  out[0] = (double) __atomic_load_n(&known_getattrs, __ATOMIC_RELAXED);
  out[1] = (double) __atomic_load_n(&known_opens, __ATOMIC_RELAXED);
  pthread_mutex_lock(&known_files_lock);
  out[2] = (double) known_opened_dropped;
  out[3] = (double) known_files_count;
  pthread_mutex_unlock(&known_files_lock);
  pthread_mutex_lock(&direct_reads_lock);
  out[4] = (double) direct_native_handles;
  pthread_mutex_unlock(&direct_reads_lock);
}

#endif
