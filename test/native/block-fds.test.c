// The binding's cache of open block files (vendor/fuse-native/block-fds.h), driven
// step by step in one process: every way a descriptor leaves the table, and the race
// the header's generations guard, by construction. A hook between an open and its
// entry into the table (BLOCK_FD_AFTER_OPEN) runs the competing call there: a forget
// of the same path (the block was evicted or replaced while the read opened it), a
// reset, or another reader's open. Prints TAP; exits non-zero on a failure.
// Built and run by test/unit/block-fds-native.test.ts.
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static void after_open (const char *path);
#define BLOCK_FD_AFTER_OPEN(path) after_open(path)
#include "block-fds.h"

static int tests, failures;

static void check (int cond, const char *what) {
  tests++;
  if (!cond) failures++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

/** What the hook does once, at the next open. */
static enum { HOOK_NONE, HOOK_FORGET, HOOK_FORGET_OTHER, HOOK_RESET, HOOK_OTHER_READER } hook;
static const char *hook_path;
static block_fd_t *hook_entry;

static void after_open (const char *path) {
  int what = hook;
  hook = HOOK_NONE;
  if (what == HOOK_FORGET) block_fd_forget(path);
  if (what == HOOK_FORGET_OTHER) block_fd_forget(hook_path);
  if (what == HOOK_RESET) block_fds_reset(block_fd_max_now());
  if (what == HOOK_OTHER_READER) hook_entry = block_fd_acquire(path);
}

static double stat_of (int i) {
  double s[3];
  block_fds_stats(s);
  return s[i];
}
#define KEPT() stat_of(0)
#define OPENS() stat_of(1)
#define HITS() stat_of(2)

static int is_closed (int fd) {
  return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/** The directory the block files live in: argv[1], made and removed by the caller. */
static const char *dir;

static const char *block (const char *name) {
  static char paths[8][256];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

/** Writes `text` to `path` through a new file renamed over it, as the disk cache replaces a block. */
static void put (const char *path, const char *text) {
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

static int reads (block_fd_t *e, const char *text) {
  char buf[64] = { 0 };
  ssize_t n = pread(e->fd, buf, sizeof buf - 1, 0);
  return n == (ssize_t) strlen(text) && strcmp(buf, text) == 0;
}

int main (int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) return 2;
  dir = argv[1];
  const char *a = block("a"), *b = block("b"), *c = block("c");
  put(a, "a1");
  put(b, "b1");
  put(c, "c1");
  block_fds_reset(2);

  // Kept between reads.
  block_fd_t *e = block_fd_acquire(a);
  int fd = e->fd;
  block_fd_release(e);
  e = block_fd_acquire(a);
  check(e->fd == fd && e->cached && OPENS() == 1 && HITS() == 1 && KEPT() == 1, "a second read of a block finds its descriptor open");
  block_fd_release(e);

  // Forgotten while unused: closed at once; the replaced block is opened afresh.
  block_fd_forget(a);
  check(is_closed(fd) && KEPT() == 0, "a forgotten descriptor nobody uses is closed at once");
  put(a, "a2");
  e = block_fd_acquire(a);
  check(reads(e, "a2") && OPENS() == 2, "the replaced block is opened again and read as replaced");
  block_fd_release(e);

  // Forgotten while in use: the reader keeps it; its last release closes it.
  e = block_fd_acquire(a);
  fd = e->fd;
  block_fd_forget(a);
  check(!e->cached && KEPT() == 0 && !is_closed(fd) && reads(e, "a2"), "a descriptor forgotten in use serves the read under way, out of the table");
  block_fd_release(e);
  check(is_closed(fd), "...and is closed by its last user");

  // An open that races a forget of its path is used for its read and not kept.
  double opens = OPENS();
  hook = HOOK_FORGET;
  e = block_fd_acquire(a);
  fd = e->fd;
  check(e != NULL && !e->cached && KEPT() == 0 && reads(e, "a2"), "an open that raced a forget of its path is not kept");
  block_fd_release(e);
  check(is_closed(fd), "...and is closed after its read");
  e = block_fd_acquire(a);
  check(e->cached && OPENS() == opens + 2 && KEPT() == 1, "the next read opens the file again and keeps it");
  block_fd_release(e);
  block_fd_forget(a);

  // A forget of another path in the same hash bucket is taken for one of this path: not kept
  // either (only more is forgotten); one in another bucket does not matter.
  char twin[300];
  for (unsigned i = 0;; i++) {
    snprintf(twin, sizeof twin, "%s/twin%u", dir, i);
    if (block_fd_hash(twin) % BLOCK_FD_BUCKETS == block_fd_hash(a) % BLOCK_FD_BUCKETS) break;
  }
  check(block_fd_hash(b) % BLOCK_FD_BUCKETS != block_fd_hash(a) % BLOCK_FD_BUCKETS, "(b is in another bucket than a)");
  hook = HOOK_FORGET_OTHER;
  hook_path = twin;
  e = block_fd_acquire(a);
  check(!e->cached && KEPT() == 0, "an open that raced a forget of another path in its bucket is not kept");
  block_fd_release(e);
  hook = HOOK_FORGET_OTHER;
  hook_path = b;
  e = block_fd_acquire(a);
  check(e->cached && KEPT() == 1, "one that raced a forget in another bucket is kept");
  block_fd_release(e);
  block_fd_forget(a);

  // An open that races a reset is not kept.
  hook = HOOK_RESET;
  e = block_fd_acquire(a);
  fd = e->fd;
  check(!e->cached && KEPT() == 0, "an open that raced a reset is not kept");
  block_fd_release(e);
  check(is_closed(fd), "...and is closed after its read");

  // Another reader opened the same block meanwhile: theirs is shared, ours closed.
  hook = HOOK_OTHER_READER;
  e = block_fd_acquire(a);
  check(e == hook_entry && e->users == 2 && e->cached && KEPT() == 1, "two readers opening one block at once share one kept descriptor");
  block_fd_release(e);
  block_fd_release(hook_entry);
  check(KEPT() == 1 && !is_closed(e->fd), "...which stays open once both are done");

  // The bound: the least recently used descriptor is closed to make room.
  block_fd_t *eb = block_fd_acquire(b);
  block_fd_release(eb);
  fd = e->fd;
  block_fd_t *ec = block_fd_acquire(c);
  block_fd_release(ec);
  check(KEPT() == 2 && is_closed(fd) && !is_closed(eb->fd) && !is_closed(ec->fd), "at the bound the least recently used descriptor is closed");
  opens = OPENS();
  e = block_fd_acquire(a);
  check(reads(e, "a2") && OPENS() == opens + 1 && KEPT() == 2, "...and opened again when read");
  block_fd_release(e);

  // A missing block file: NULL with the open's errno, nothing kept.
  unlink(c);
  block_fd_forget(c);
  errno = 0;
  check(block_fd_acquire(c) == NULL && errno == ENOENT && KEPT() == 1, "a block file that is gone answers ENOENT");

  // Reset to 0: every descriptor closed, none kept from then on.
  fd = e->fd;
  block_fds_reset(0);
  check(KEPT() == 0 && is_closed(fd), "a reset closes every descriptor");
  e = block_fd_acquire(b);
  fd = e->fd;
  check(!e->cached && reads(e, "b1"), "with a bound of 0 a read opens its block and keeps nothing");
  block_fd_release(e);
  check(is_closed(fd) && KEPT() == 0, "...and closes it after the read");

  printf("1..%d\n", tests);
  return failures == 0 ? 0 : 1;
}
