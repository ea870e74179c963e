// s3cachefs: a bounded cache of open block files for the binding's direct reads.
//
// A direct read of a cached block used to open its block file, read it and close it:
// two more syscalls per read and, after the page cache was dropped (every epoch of a
// training job that drops it), a walk of `blocks/<aa>/` that reads directories and
// inodes from disk again. An open descriptor pins its dentry and inode, so a read
// through it costs one positioned read and nothing else.
//
// Kept honest by the daemon: every block file it unlinks, evicts or replaces is
// forgotten here first (block_fd_forget, from the disk cache's list of open files,
// open-block-files.ts), so a block the cache no longer holds is never served through
// an old descriptor and the disk space of an evicted block is given back at once.
// A descriptor in use when forgotten is closed by its last user. An open that raced a
// forget of its path (the open began before the forget and ends after it) is used for
// that one read and not kept: a generation per hash bucket tells.
//
// Bounded by block_fd_max (set by the daemon from its descriptor budget; 0 keeps
// nothing, each read opens and closes as before); the least recently used descriptor
// is closed to make room.
#ifndef S3CACHEFS_BLOCK_FDS_H
#define S3CACHEFS_BLOCK_FDS_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_FD_BUCKETS 8192

// A test's hook between an open and its entry into the table, where a forget may race
// it (test/native/block-fds.test.c); nothing in the binding.
#ifndef BLOCK_FD_AFTER_OPEN
#define BLOCK_FD_AFTER_OPEN(path)
#endif

typedef struct block_fd_s {
  /** Next in its hash bucket. */
  struct block_fd_s *next;
  /** Neighbours in recency order (most recent at block_fd_lru.lru_next). */
  struct block_fd_s *lru_prev, *lru_next;
  uint64_t hash;
  int fd;
  /** Reads using the descriptor now. */
  uint32_t users;
  /** Whether the table holds it (else its last user closes it). */
  int cached;
  /** Its header and chunk table once a read checked them (direct-reads.h), else NULL; never changed once set. */
  unsigned char *header;
  char path[];
} block_fd_t;

static block_fd_t *block_fds[BLOCK_FD_BUCKETS];
static uint32_t block_fd_gens[BLOCK_FD_BUCKETS];
/** Sentinel of the recency list. */
static block_fd_t block_fd_lru = { .lru_prev = &block_fd_lru, .lru_next = &block_fd_lru };
static size_t block_fd_count, block_fd_max;
static uint64_t block_fd_opens, block_fd_hits;
static pthread_mutex_t block_fds_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t block_fd_hash (const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s != '\0'; s++) h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return h;
}

/** The entry of `path` (lock held), or NULL. */
static block_fd_t *block_fd_find (uint64_t hash, const char *path) {
  for (block_fd_t *e = block_fds[hash % BLOCK_FD_BUCKETS]; e != NULL; e = e->next) {
    if (e->hash == hash && strcmp(e->path, path) == 0) return e;
  }
  return NULL;
}

static void block_fd_lru_unlink (block_fd_t *e) {
  e->lru_prev->lru_next = e->lru_next;
  e->lru_next->lru_prev = e->lru_prev;
}

static void block_fd_lru_push (block_fd_t *e) {
  e->lru_next = block_fd_lru.lru_next;
  e->lru_prev = &block_fd_lru;
  block_fd_lru.lru_next->lru_prev = e;
  block_fd_lru.lru_next = e;
}

/** Takes `e` out of the table (lock held); true when nobody uses it, so the caller closes it. */
static int block_fd_remove (block_fd_t *e) {
  block_fd_t **p = &block_fds[e->hash % BLOCK_FD_BUCKETS];
  while (*p != e) p = &(*p)->next;
  *p = e->next;
  block_fd_lru_unlink(e);
  block_fd_count--;
  e->cached = 0;
  return e->users == 0;
}

static void block_fd_close (block_fd_t *e) {
  close(e->fd);
  free(e->header);
  free(e);
}

/**
 * The open descriptor of `path`, counted as in use until block_fd_release; NULL when
 * the file cannot be opened (errno as open left it) or memory is short.
 */
static block_fd_t *block_fd_acquire (const char *path) {
  uint64_t hash = block_fd_hash(path);
  size_t bucket = hash % BLOCK_FD_BUCKETS;
  pthread_mutex_lock(&block_fds_lock);
  block_fd_t *e = block_fd_find(hash, path);
  if (e != NULL) {
    e->users++;
    block_fd_lru_unlink(e);
    block_fd_lru_push(e);
    block_fd_hits++;
    pthread_mutex_unlock(&block_fds_lock);
    return e;
  }
  uint32_t gen = block_fd_gens[bucket];
  int keep = block_fd_max > 0;
  block_fd_opens++;
  pthread_mutex_unlock(&block_fds_lock);

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  BLOCK_FD_AFTER_OPEN(path);
  size_t n = strlen(path);
  e = malloc(sizeof(block_fd_t) + n + 1);
  if (e == NULL) {
    close(fd);
    return NULL;
  }
  memcpy(e->path, path, n + 1);
  e->hash = hash;
  e->fd = fd;
  e->users = 1;
  e->cached = 0;
  e->header = NULL;
  e->next = NULL;
  if (!keep) return e;

  block_fd_t *closing = NULL;
  pthread_mutex_lock(&block_fds_lock);
  block_fd_t *other = block_fd_find(hash, path);
  if (other != NULL) {
    // Another reader opened it meanwhile: use theirs.
    other->users++;
    pthread_mutex_unlock(&block_fds_lock);
    block_fd_close(e);
    return other;
  }
  if (block_fd_gens[bucket] == gen && block_fd_max > 0) {
    e->cached = 1;
    e->next = block_fds[bucket];
    block_fds[bucket] = e;
    block_fd_lru_push(e);
    block_fd_count++;
    while (block_fd_count > block_fd_max) {
      block_fd_t *victim = block_fd_lru.lru_prev;
      if (block_fd_remove(victim)) {
        victim->next = closing;
        closing = victim;
      }
    }
  }
  pthread_mutex_unlock(&block_fds_lock);
  while (closing != NULL) {
    block_fd_t *next = closing->next;
    block_fd_close(closing);
    closing = next;
  }
  return e;
}

static void block_fd_release (block_fd_t *e) {
  pthread_mutex_lock(&block_fds_lock);
  int last = --e->users == 0 && !e->cached;
  pthread_mutex_unlock(&block_fds_lock);
  if (last) block_fd_close(e);
}

/** How many descriptors may be kept now (0: none). */
static size_t block_fd_max_now (void) {
  pthread_mutex_lock(&block_fds_lock);
  size_t max = block_fd_max;
  pthread_mutex_unlock(&block_fds_lock);
  return max;
}

/** Closes the descriptor of `path` (about to be unlinked or replaced) once unused; an open under way is not kept. */
static void block_fd_forget (const char *path) {
  uint64_t hash = block_fd_hash(path);
  pthread_mutex_lock(&block_fds_lock);
  block_fd_gens[hash % BLOCK_FD_BUCKETS]++;
  block_fd_t *e = block_fd_find(hash, path);
  int unused = e != NULL && block_fd_remove(e);
  pthread_mutex_unlock(&block_fds_lock);
  if (unused) block_fd_close(e);
}

/** Forgets every descriptor and sets how many may be kept from now on (0: none). */
static void block_fds_reset (size_t max) {
  block_fd_t *closing = NULL;
  pthread_mutex_lock(&block_fds_lock);
  for (size_t i = 0; i < BLOCK_FD_BUCKETS; i++) block_fd_gens[i]++;
  while (block_fd_lru.lru_next != &block_fd_lru) {
    block_fd_t *e = block_fd_lru.lru_next;
    if (block_fd_remove(e)) {
      e->next = closing;
      closing = e;
    }
  }
  block_fd_max = max;
  pthread_mutex_unlock(&block_fds_lock);
  while (closing != NULL) {
    block_fd_t *next = closing->next;
    block_fd_close(closing);
    closing = next;
  }
}

/** out[0..2] = descriptors kept now, block files opened, reads that found theirs open. */
static void block_fds_stats (double *out) {
  pthread_mutex_lock(&block_fds_lock);
  out[0] = (double) block_fd_count;
  out[1] = (double) block_fd_opens;
  out[2] = (double) block_fd_hits;
  pthread_mutex_unlock(&block_fds_lock);
}

#endif
