// s3cachefs: the kernel's FUSE passthrough (Linux >= 6.9, CONFIG_FUSE_PASSTHROUGH) through
// Debian 12's libfuse 3.14, which has none of it (libfuse 3.16 added fuse_passthrough_open).
//
// A read-only open the daemon answers with a backing file (a plain local file holding exactly
// the object's bytes: the whole-object copies of src/cache/whole-objects.ts) is told to the
// kernel with FOPEN_PASSTHROUGH and a backing id, and the kernel then reads that file itself:
// no read of the handle reaches this process.
//
// libfuse builds the replies; this file amends two of them on their way to /dev/fuse, through
// libfuse's custom I/O hooks (fuse_session_custom_io, which 3.14 has): the INIT reply (the
// FUSE_PASSTHROUGH flag and max_stack_depth 1, only when the kernel offered it) and the OPEN
// reply of an open whose handler named a backing file (FOPEN_PASSTHROUGH and the id). The read
// hook sees each request's header first, on the worker thread that then handles it and sends
// its reply, so the reply is matched to its request by thread and unique id.
//
// The kernel's rules (fs/fuse/iomode.c): an inode has at most one backing file, shared by all
// its passthrough opens (another id for the same inode fails the open with EIO); while an
// inode has a backing file every open of it must be a passthrough open (any other fails with
// EIO); and a passthrough open of an inode open in the page-cache mode fails too. So every
// open and release of the mount is counted here per inode (FUSE node id): an open that may
// use a backing file gets one only when no other open of its inode is in the page-cache mode;
// it shares the inode's backing id while the inode has one; and any other open of an inode in
// passthrough mode (for writing, of another object version, of a file with staged writes) is
// answered EBUSY, since the kernel would fail it anyway. The counts are taken at the reply and
// dropped when the RELEASE arrives, after the kernel dropped its own, so what is counted here
// always includes what the kernel holds.
//
// BACKING_OPEN needs CAP_SYS_ADMIN: a daemon without it gets EPERM once, and passthrough is off
// from then on (every open is an ordinary one).
#ifndef S3CACHEFS_PASSTHROUGH_H
#define S3CACHEFS_PASSTHROUGH_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// The kernel's protocol, as Linux 6.9+ defines it (Debian 12's headers predate passthrough).
#define PT_OP_OPEN 14
#define PT_OP_RELEASE 18
#define PT_OP_INIT 26
#define PT_OP_CREATE 35
#define PT_INIT_EXT (1u << 30)
#define PT_FLAGS2_PASSTHROUGH (1u << 5) /* FUSE_PASSTHROUGH, 1ULL << 37 */
#define PT_FOPEN_PASSTHROUGH (1u << 7)
/* FOPEN_DIRECT_IO, FOPEN_NOFLUSH, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH */
#define PT_FOPEN_ALLOWED ((1u << 0) | (1u << 5) | (1u << 6) | (1u << 7))
#define PT_IN_HEADER 40
#define PT_OUT_HEADER 16
#define PT_OPEN_OUT 16
#define PT_ENTRY_OUT 128
#define PT_INIT_OUT 64
#define PT_BUCKETS 4096
/** How long an open that conflicts with an inode's passthrough opens waits for their RELEASE before EBUSY. */
#define PT_RELEASE_WAIT_SECONDS 1
/** The prefix of a backing file the open may share with its inode's passthrough opens but not open anew. */
#define PT_SHARE_ONLY "share:"

typedef struct { int32_t fd; uint32_t flags; uint64_t padding; } pt_backing_map_t;
#define PT_IOC_BACKING_OPEN _IOW(229, 1, pt_backing_map_t)
#define PT_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

typedef struct pt_inode_s {
  uint64_t nodeid;
  uint32_t cached;     // opens in the page-cache mode (or direct I/O)
  uint32_t passthrough; // opens sharing backing_id
  int32_t backing_id;
  char *backing;       // the backing file's path (the object version it holds)
  struct pt_inode_s *next;
} pt_inode_t;

typedef struct pt_handle_s {
  uint64_t fh;
  uint64_t nodeid;
  int passthrough;
  struct pt_handle_s *next;
} pt_handle_t;

static int pt_requested;
static int pt_offered;
static int pt_granted;
static int pt_dev_fd = -1;
static pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
/** Signalled when an inode's last passthrough open is counted out. */
static pthread_cond_t pt_released = PTHREAD_COND_INITIALIZER;
static pt_inode_t *pt_inodes[PT_BUCKETS];
static pt_handle_t *pt_handles[PT_BUCKETS];
static uint64_t pt_opens, pt_shared, pt_backing_opens, pt_backing_failures, pt_cached_fallbacks, pt_busy, pt_inodes_now, pt_waits;
static int pt_last_error;
/** Tests only (S3CACHEFS_TEST_RELEASE_DELAY_MS): each RELEASE is counted out this late, as under load. */
static useconds_t pt_release_delay_us;

// The request this worker thread read last (it handles it and sends its reply next).
static __thread uint32_t pt_tl_opcode;
static __thread uint64_t pt_tl_unique;
static __thread uint64_t pt_tl_nodeid;
// The backing file the open handler named for the reply about to be sent (malloc'd), or NULL.
static __thread char *pt_tl_backing;

static pt_inode_t **pt_inode_slot (uint64_t nodeid) {
  pt_inode_t **p = &pt_inodes[nodeid % PT_BUCKETS];
  while (*p != NULL && (*p)->nodeid != nodeid) p = &(*p)->next;
  return p;
}

static pt_handle_t **pt_handle_slot (uint64_t fh) {
  pt_handle_t **p = &pt_handles[fh % PT_BUCKETS];
  while (*p != NULL && (*p)->fh != fh) p = &(*p)->next;
  return p;
}

/** Under pt_lock: one open of inode `in` answered (handle fh), in passthrough mode or not. */
static int pt_count_open (pt_inode_t *in, uint64_t fh, int passthrough) {
  pt_handle_t *h = calloc(1, sizeof(pt_handle_t));
  if (h == NULL) return -1;
  h->fh = fh;
  h->nodeid = in->nodeid;
  h->passthrough = passthrough;
  pt_handle_t **hs = &pt_handles[fh % PT_BUCKETS];
  h->next = *hs;
  *hs = h;
  if (passthrough) in->passthrough++;
  else in->cached++;
  return 0;
}

static pt_inode_t *pt_inode_get (uint64_t nodeid) {
  pt_inode_t **slot = pt_inode_slot(nodeid);
  if (*slot != NULL) return *slot;
  pt_inode_t *in = calloc(1, sizeof(pt_inode_t));
  if (in == NULL) return NULL;
  in->nodeid = nodeid;
  in->backing_id = -1;
  *slot = in;
  pt_inodes_now++;
  return in;
}

/** Under pt_lock: forgets an inode no open holds, closing its backing id. */
static void pt_inode_drop_if_unused (uint64_t nodeid) {
  pt_inode_t **slot = pt_inode_slot(nodeid);
  pt_inode_t *in = *slot;
  if (in == NULL || in->cached > 0 || in->passthrough > 0) return;
  if (in->backing_id >= 0) {
    uint32_t id = (uint32_t) in->backing_id;
    ioctl(pt_dev_fd, PT_IOC_BACKING_CLOSE, &id);
  }
  *slot = in->next;
  free(in->backing);
  free(in);
  pt_inodes_now--;
}

/** The RELEASE of a handle arrived: its open no longer counts (the kernel dropped its own already). */
static void pt_release (uint64_t fh) {
  pthread_mutex_lock(&pt_lock);
  pt_handle_t **slot = pt_handle_slot(fh);
  pt_handle_t *h = *slot;
  if (h != NULL) {
    *slot = h->next;
    pt_inode_t *in = *pt_inode_slot(h->nodeid);
    if (in != NULL) {
      if (h->passthrough && in->passthrough > 0 && --in->passthrough == 0) pthread_cond_broadcast(&pt_released);
      else if (!h->passthrough && in->cached > 0) in->cached--;
      pt_inode_drop_if_unused(h->nodeid);
    }
    free(h);
  }
  pthread_mutex_unlock(&pt_lock);
}

static ssize_t pt_read (int fd, void *buf, size_t len, void *userdata) {
  (void) userdata;
  ssize_t n = read(fd, buf, len);
  if (n < PT_IN_HEADER) return n;
  const unsigned char *b = (const unsigned char *) buf;
  uint32_t opcode;
  memcpy(&opcode, b + 4, 4);
  pt_tl_opcode = opcode;
  memcpy(&pt_tl_unique, b + 8, 8);
  memcpy(&pt_tl_nodeid, b + 16, 8);
  if (opcode == PT_OP_INIT && n >= PT_IN_HEADER + 20) {
    uint32_t flags, flags2;
    memcpy(&flags, b + PT_IN_HEADER + 12, 4);
    memcpy(&flags2, b + PT_IN_HEADER + 16, 4);
    pt_offered = (flags & PT_INIT_EXT) != 0 && (flags2 & PT_FLAGS2_PASSTHROUGH) != 0;
  } else if (opcode == PT_OP_RELEASE && n >= PT_IN_HEADER + 8) {
    uint64_t fh;
    memcpy(&fh, b + PT_IN_HEADER, 8);
    if (pt_release_delay_us > 0) usleep(pt_release_delay_us); // tests only: a RELEASE read late, by construction
    pt_release(fh);
  }
  return n;
}

/** The error reply for an open the kernel would refuse. */
static ssize_t pt_send_error (int fd, uint64_t unique, int err) {
  unsigned char out[PT_OUT_HEADER];
  uint32_t len = PT_OUT_HEADER;
  int32_t error = -err;
  memcpy(out, &len, 4);
  memcpy(out + 4, &error, 4);
  memcpy(out + 8, &unique, 8);
  struct iovec v = { out, PT_OUT_HEADER };
  return writev(fd, &v, 1);
}

/** Under pt_lock: waits (at most until `deadline`) for a RELEASE to count an open out. */
static void pt_wait_release (const struct timespec *deadline) {
  pt_waits++;
  pthread_cond_timedwait(&pt_released, &pt_lock, deadline);
}

static ssize_t pt_open_reply (int fd, const struct iovec *iov, int count) {
  char *named = pt_tl_backing;
  pt_tl_backing = NULL;
  int32_t error;
  memcpy(&error, (const unsigned char *) iov[0].iov_base + 4, 4);
  if (error != 0 || count != 2 || iov[1].iov_len != PT_OPEN_OUT) {
    free(named);
    return writev(fd, iov, count);
  }
  // "share:PATH": the copy may be shared with the inode's passthrough opens but not opened anew
  // (it left the daemon's budget, or its blocks are not all cached); "PATH": either.
  const char *backing = named;
  int may_open = 1;
  if (named != NULL && strncmp(named, PT_SHARE_ONLY, strlen(PT_SHARE_ONLY)) == 0) {
    backing = named + strlen(PT_SHARE_ONLY);
    may_open = 0;
  }
  // Opened before the lock (a file on local disk; closed below if not used).
  int bfd = backing != NULL && may_open && pt_granted ? open(backing, O_RDONLY | O_CLOEXEC) : -1;
  unsigned char out[PT_OPEN_OUT];
  memcpy(out, iov[1].iov_base, PT_OPEN_OUT);
  uint64_t fh;
  memcpy(&fh, out, 8);
  uint64_t nodeid = pt_tl_nodeid;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += PT_RELEASE_WAIT_SECONDS;

  pthread_mutex_lock(&pt_lock);
  pt_inode_t *in;
  int passthrough = 0;
  int fresh_id = 0;
  for (;;) {
    in = pt_inode_get(nodeid);
    if (in == NULL || in->passthrough == 0) break;
    if (backing != NULL && in->backing != NULL && strcmp(backing, in->backing) == 0) {
      passthrough = 1;
      pt_shared++;
      break;
    }
    // The kernel fails any other open of an inode in passthrough mode. Its last passthrough
    // handle may be closed already, its RELEASE not read yet (the kernel sends it after
    // dropping its own count): wait for it a while before refusing.
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
      pt_busy++;
      pthread_mutex_unlock(&pt_lock);
      if (bfd >= 0) close(bfd);
      free(named);
      pt_send_error(fd, pt_tl_unique, EBUSY);
      errno = ENOENT; // libfuse releases the handle the open made, as for an interrupted open
      return -1;
    }
    pt_wait_release(&deadline);
  }
  if (in != NULL && !passthrough && bfd >= 0 && pt_granted && in->cached == 0) {
    pt_backing_map_t map = { bfd, 0, 0 };
    int id = ioctl(pt_dev_fd, PT_IOC_BACKING_OPEN, &map);
    if (id >= 0) {
      in->backing_id = id;
      free(in->backing);
      in->backing = strdup(backing);
      passthrough = in->backing != NULL;
      fresh_id = 1;
      pt_backing_opens++;
    } else {
      pt_last_error = errno;
      pt_backing_failures++;
      // Not allowed here (not root; a cache directory on a stacked file system): off from now on.
      if (errno == EPERM || errno == EINVAL || errno == EOPNOTSUPP || errno == ELOOP) pt_granted = 0;
    }
  } else if (in != NULL && !passthrough && backing != NULL && in->cached > 0) {
    pt_cached_fallbacks++;
  }
  if (passthrough) {
    uint32_t open_flags;
    memcpy(&open_flags, out + 8, 4);
    // The kernel refuses a passthrough open with any other flag (FOPEN_PASSTHROUGH_MASK): libfuse's
    // auto_cache sets FOPEN_KEEP_CACHE, which means nothing here (the backing file's page cache serves).
    open_flags &= PT_FOPEN_ALLOWED;
    open_flags |= PT_FOPEN_PASSTHROUGH;
    memcpy(out + 8, &open_flags, 4);
    memcpy(out + 12, &in->backing_id, 4);
  }
  struct iovec v[2] = { iov[0], { out, PT_OPEN_OUT } };
  ssize_t res = writev(fd, v, 2);
  int saved = errno;
  if (in != NULL) {
    if (res >= 0 && pt_count_open(in, fh, passthrough) == 0) {
      if (passthrough) pt_opens++;
    } else if (fresh_id) {
      // Not delivered (the open was interrupted): nothing uses the new id.
      uint32_t id = (uint32_t) in->backing_id;
      ioctl(pt_dev_fd, PT_IOC_BACKING_CLOSE, &id);
      in->backing_id = -1;
    }
    pt_inode_drop_if_unused(nodeid);
  }
  pthread_mutex_unlock(&pt_lock);
  if (bfd >= 0) close(bfd);
  free(named);
  errno = saved;
  return res;
}

static ssize_t pt_writev (int fd, struct iovec *iov, int count, void *userdata) {
  (void) userdata;
  if (count < 1 || iov[0].iov_len != PT_OUT_HEADER) return writev(fd, iov, count);
  uint64_t unique;
  memcpy(&unique, (const unsigned char *) iov[0].iov_base + 8, 8);
  if (unique == 0 || unique != pt_tl_unique) return writev(fd, iov, count);
  if (pt_tl_opcode == PT_OP_OPEN) return pt_open_reply(fd, iov, count);
  if (pt_tl_opcode == PT_OP_INIT && count == 2 && iov[1].iov_len == PT_INIT_OUT && pt_requested && pt_offered) {
    unsigned char out[PT_INIT_OUT];
    memcpy(out, iov[1].iov_base, PT_INIT_OUT);
    uint32_t flags2, depth = 1;
    memcpy(&flags2, out + 32, 4);
    flags2 |= PT_FLAGS2_PASSTHROUGH;
    memcpy(out + 32, &flags2, 4);
    memcpy(out + 36, &depth, 4);
    struct iovec v[2] = { iov[0], { out, PT_INIT_OUT } };
    ssize_t res = writev(fd, v, 2);
    if (res >= 0) pt_granted = 1;
    return res;
  }
  if (pt_tl_opcode == PT_OP_CREATE && count == 2 && iov[1].iov_len == PT_ENTRY_OUT + PT_OPEN_OUT) {
    // A created file is open in the page-cache mode until released: counted like any other open.
    const unsigned char *b = (const unsigned char *) iov[1].iov_base;
    uint64_t nodeid, fh;
    memcpy(&nodeid, b, 8);
    memcpy(&fh, b + PT_ENTRY_OUT, 8);
    // Counted under the lock taken before the reply, as an open is: its RELEASE cannot be read first.
    pthread_mutex_lock(&pt_lock);
    ssize_t res = writev(fd, iov, count);
    int saved = errno;
    pt_inode_t *in = res >= 0 ? pt_inode_get(nodeid) : NULL;
    if (in != NULL) pt_count_open(in, fh, 0);
    pthread_mutex_unlock(&pt_lock);
    errno = saved;
    return res;
  }
  return writev(fd, iov, count);
}

/** After fuse_mount: routes the session's requests and replies through the hooks above. */
static int pt_install (struct fuse_session *se) {
  struct fuse_custom_io io;
  memset(&io, 0, sizeof(io));
  io.read = pt_read;
  io.writev = pt_writev;
  pt_dev_fd = fuse_session_fd(se);
  const char *delay = getenv("S3CACHEFS_TEST_RELEASE_DELAY_MS");
  if (delay != NULL) pt_release_delay_us = (useconds_t) (atoi(delay) * 1000);
  return fuse_session_custom_io(se, &io, pt_dev_fd);
}

/** The open handler (on its worker thread) names the backing file for the reply it is about to send. */
static void pt_set_backing (char *path) {
  free(pt_tl_backing);
  pt_tl_backing = path;
}

#endif
