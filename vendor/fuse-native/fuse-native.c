// s3cachefs: libfuse 3 (Debian's libfuse3-dev), not 2.9: requests of up to 1 MiB (max_pages),
// getattr/truncate with the handle, a bounded worker pool (see README-s3cachefs.md).
#define FUSE_USE_VERSION 312

#include <uv.h>
#include <node_api.h>
#include <napi-macros.h>

#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <assert.h>

#include <fuse.h>
#include <fuse_opt.h>
#include <fuse_common.h>
#include <fuse_lowlevel.h>
#include <errno.h>

#include <unistd.h>
#include <sys/wait.h>
#include <pthread.h>

#include "direct-reads.h"
#include "known-files.h"
#include "block-writes.h"
#include "passthrough.h"

static int IS_ARRAY_BUFFER_DETACH_SUPPORTED = 0;

napi_status napi_detach_arraybuffer(napi_env env, napi_value buf);

#define FUSE_NATIVE_CALLBACK(fn, blk)\
  napi_env env = ft->env;\
  napi_handle_scope scope;\
  napi_open_handle_scope(env, &scope);\
  napi_value ctx;\
  napi_get_reference_value(env, ft->ctx, &ctx);\
  napi_value callback;\
  napi_get_reference_value(env, fn, &callback);\
  blk\
  napi_close_handle_scope(env, scope);

#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = get_thread_locals();\
  l->op = op_##name;\
  record_caller(l);\
  l->op_fn = fuse_native_dispatch_##name;\
  blk\
  uv_async_send(&(l->async));\
  uv_sem_wait(&(l->sem));\
  return l->res;

#define FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, signalBlk)\
  static void fuse_native_dispatch_##name (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
    uint32_t op = op_##name;\
    FUSE_NATIVE_CALLBACK(ft->handlers[op], {\
      napi_value argv[callbackArgs + 2];\
      napi_get_reference_value(env, l->self, &(argv[0]));\
      napi_create_uint32(env, l->op, &(argv[1]));\
      callbackBlk\
      NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, callbackArgs + 2, argv, NULL)\
    })\
  }\
  NAPI_METHOD(fuse_native_signal_##name) {\
    NAPI_ARGV(signalArgs + 2)\
    NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);\
    NAPI_ARGV_INT32(res, 1);\
    signalBlk\
    l->res = res;\
    uv_sem_post(&(l->sem));\
    return NULL;\
  }\
  static int fuse_native_##name signature {\
    FUSE_NATIVE_HANDLER(name, callBlk)\
  }

#define FUSE_METHOD_VOID(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk)\
  FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, {})

#define FUSE_UINT64_TO_INTS_ARGV(n, pos)\
  uint32_t low##pos = n % 4294967296;\
  uint32_t high##pos = (n - low##pos) / 4294967296;\
  napi_create_uint32(env, low##pos, &(argv[pos]));\
  napi_create_uint32(env, high##pos, &(argv[pos + 1]));


// Opcodes

static const uint32_t op_init = 0;
static const uint32_t op_error = 1;
static const uint32_t op_access = 2;
static const uint32_t op_statfs = 3;
static const uint32_t op_fgetattr = 4;
static const uint32_t op_getattr = 5;
static const uint32_t op_flush = 6;
static const uint32_t op_fsync = 7;
static const uint32_t op_fsyncdir = 8;
static const uint32_t op_readdir = 9;
static const uint32_t op_truncate = 10;
static const uint32_t op_ftruncate = 11;
static const uint32_t op_utimens = 12;
static const uint32_t op_readlink = 13;
static const uint32_t op_chown = 14;
static const uint32_t op_chmod = 15;
static const uint32_t op_mknod = 16;
static const uint32_t op_setxattr = 17;
static const uint32_t op_getxattr = 18;
static const uint32_t op_listxattr = 19;
static const uint32_t op_removexattr = 20;
static const uint32_t op_open = 21;
static const uint32_t op_opendir = 22;
static const uint32_t op_read = 23;
static const uint32_t op_write = 24;
static const uint32_t op_release = 25;
static const uint32_t op_releasedir = 26;
static const uint32_t op_create = 27;
static const uint32_t op_unlink = 28;
static const uint32_t op_rename = 29;
static const uint32_t op_link = 30;
static const uint32_t op_symlink = 31;
static const uint32_t op_mkdir = 32;
static const uint32_t op_rmdir = 33;

// Data structures

typedef struct {
  napi_env env;
  pthread_t thread;
  pthread_attr_t attr;
  napi_ref ctx;
  napi_ref malloc;

  // Operation handlers
  napi_ref handlers[35];

  struct fuse *fuse;
  // s3cachefs: which operations JS implements (libfuse 3 has no fgetattr/ftruncate of its
  // own: getattr and truncate get the handle, and go to JS's fgetattr/ftruncate with it).
  uint32_t implemented[35];
  char mnt[1024];
  char mntopts[1024];
  int mounted;

  uv_async_t async;
  uv_mutex_t mut;
  uv_sem_t sem;

  // s3cachefs: thread states of FUSE worker threads that exited, for the next new thread
  // (libfuse 2.9 retires a worker when more than 10 are idle and starts one per burst; a
  // state per thread ever started leaked a uv_async_t each, and libuv walks every async
  // handle of the loop on each wakeup). Guarded by idle_mut.
  void *idle_locals;
  uv_mutex_t idle_mut;
} fuse_thread_t;

typedef struct {
  napi_ref self;

  // Opcode
  uint32_t op;
  void *op_fn;

  // Payloads
  const char *path;
  const char *dest;
  char *linkname;
  struct fuse_file_info *info;
  const void *buf;
  off_t offset;
  size_t len;
  mode_t mode;
  dev_t dev;
  uid_t uid;
  gid_t gid;
  size_t atime;
  size_t mtime;
  int32_t res;

  // s3cachefs: the process that made this request (fuse_get_context() on the FUSE thread)
  uid_t caller_uid;
  gid_t caller_gid;
  pid_t caller_pid;

  // Extended attributes
  const char *name;
  const char *value;
  char *list;
  size_t size;
  uint32_t position;
  int flags;

  // Stat + Statfs
  struct stat *stat;
  struct statvfs *statvfs;

  // Readdir
  fuse_fill_dir_t readdir_filler;

  // Internal bookkeeping
  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;

  // s3cachefs: the next state on fuse->idle_locals
  void *next_idle;

  // s3cachefs: the backing file JS named for the open being answered (malloc'd; passthrough.h)
  char *pt_path;
} fuse_thread_locals_t;

// s3cachefs: thread states created (each with its uv_async_t), and taken again from the idle list.
static uint64_t thread_locals_created = 0;
static uint64_t thread_locals_reused = 0;

static pthread_key_t thread_locals_key;
static fuse_thread_locals_t* get_thread_locals();

// s3cachefs: who asked. fuse_get_context() is valid only on the FUSE thread during the
// request, so it is copied here for the JS handler to read (Fuse.requestCaller()).
static void record_caller (fuse_thread_locals_t *l) {
  struct fuse_context *fc = fuse_get_context();
  l->caller_uid = fc->uid;
  l->caller_gid = fc->gid;
  l->caller_pid = fc->pid;
}

// s3cachefs: a utimens time in ms for JS. UTIME_OMIT and UTIME_NOW keep their meaning (only
// the owner may set explicit times; "now" needs write permission): index.js turns these two
// codes into -1 and -2.
#define UTIME_OMITTED_MS UINT64_MAX
#define UTIME_NOW_MS (UINT64_MAX - 1)
static uint64_t utimens_ms (const struct timespec *ts) {
  if (ts->tv_nsec == UTIME_OMIT) return UTIME_OMITTED_MS;
  if (ts->tv_nsec == UTIME_NOW) return UTIME_NOW_MS;
  return (uint64_t) ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

// Helpers
// TODO: Extract into a separate file.

static uint64_t uint32s_to_uint64 (uint32_t **ints) {
  uint64_t low = *((*ints)++);
  uint64_t high = *((*ints)++);
  return high * 4294967296 + low;
}

static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  uint64_t ms = uint32s_to_uint64(ints);
  ts->tv_sec = ms / 1000;
  ts->tv_nsec = (ms % 1000) * 1000000;
}


static void populate_stat (uint32_t *ints, struct stat* stat) {
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = *ints++;
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
#ifdef __APPLE__
  uint32s_to_timespec(&stat->st_atimespec, &ints);
  uint32s_to_timespec(&stat->st_mtimespec, &ints);
  uint32s_to_timespec(&stat->st_ctimespec, &ints);
#else
  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
#endif
}

static void populate_statvfs (uint32_t *ints, struct statvfs* statvfs) {
  statvfs->f_bsize = *ints++;
  statvfs->f_frsize = *ints++;
  statvfs->f_blocks = *ints++;
  statvfs->f_bfree = *ints++;
  statvfs->f_bavail = *ints++;
  statvfs->f_files = *ints++;
  statvfs->f_ffree = *ints++;
  statvfs->f_favail = *ints++;
  statvfs->f_fsid = *ints++;
  statvfs->f_flag = *ints++;
  statvfs->f_namemax = *ints++;
}

// Methods

FUSE_METHOD(statfs, 1, 1, (const char * path, struct statvfs *statvfs), {
  l->path = path;
  l->statvfs = statvfs;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_statvfs(ints, l->statvfs);
})

FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {
  l->path = path;
  l->stat = stat;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
})

FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {
  l->path = path;
  l->stat = stat;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
})

FUSE_METHOD_VOID(access, 2, 0, (const char *path, int mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

// s3cachefs: open answers (err, fh, noflush, backing); noflush set, the kernel sends no FLUSH when the
// handle is closed; backing (a path, or anything else for none), the file the kernel may read
// this handle's bytes from itself (passthrough.h).
FUSE_METHOD(open, 2, 3, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->flags, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  NAPI_ARGV_INT32(fd, 2)
  int32_t noflush = 0; // anything but a number: 0 (a throw here would leave the FUSE thread waiting)
  if (napi_get_value_int32(env, argv[3], &noflush) != napi_ok) noflush = 0;
  if (fd != 0) {
    l->info->fh = fd;
  }
  if (noflush != 0) l->info->noflush = 1;
  size_t backing_len = 0;
  free(l->pt_path);
  l->pt_path = NULL;
  if (pt_requested && napi_get_value_string_utf8(env, argv[4], NULL, 0, &backing_len) == napi_ok && backing_len > 0) {
    l->pt_path = malloc(backing_len + 1);
    if (l->pt_path != NULL) napi_get_value_string_utf8(env, argv[4], l->pt_path, backing_len + 1, &backing_len);
  }
})

FUSE_METHOD(opendir, 3, 1, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
    napi_create_uint32(env, l->info->flags, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
    napi_create_uint32(env, 0, &(argv[4]));
  }
}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {
  l->path = path;
  l->mode = mode;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {
  l->path = path;
  l->atime = utimens_ms(&tv[0]);
  l->mtime = utimens_ms(&tv[1]);
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  // s3cachefs: upstream passed atime twice (mtime was never seen).
  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)
  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)
})

FUSE_METHOD_VOID(release, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD_VOID(releasedir, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(write, 6, 2, (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(readdir, 1, 2, (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info), {
  l->buf = buf;
  l->path = path;
  l->offset = offset;
  l->info = info;
  l->readdir_filler = filler;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  uint32_t stats_length = 0;
  uint32_t names_length = 0;
  napi_get_array_length(env, argv[3], &stats_length);
  napi_get_array_length(env, argv[2], &names_length);

  napi_value raw_names = argv[2];
  napi_value raw_stats = argv[3];

  bool is_modes = false;
  napi_is_typedarray(env, raw_stats, &is_modes);
  if (is_modes) {
    // A Uint32Array of one mode per name (0: unknown): the entry's type reaches the kernel
    // as d_type, so `find -type f` and scandir need no LOOKUP per entry.
    napi_typedarray_type modes_type;
    size_t modes_length;
    void *modes_data;
    napi_get_typedarray_info(env, raw_stats, &modes_type, &modes_length, &modes_data, NULL, NULL);
    uint32_t *modes = (modes_type == napi_uint32_array) ? (uint32_t *) modes_data : NULL;
    struct stat st;
    memset(&st, 0, sizeof(st));
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      uint32_t mode = (modes != NULL && i < modes_length) ? modes[i] : 0;
      st.st_mode = mode;
      int err = l->readdir_filler((char *) l->buf, name, mode == 0 ? NULL : &st, 0, 0);
      if (err == 1) {
        break;
      }
    }
  } else if (names_length != stats_length) {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      int err = l->readdir_filler((char *) l->buf, name, NULL, 0, 0);
      if (err == 1) {
        break;
      }
    }
  } else {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      napi_value raw_stat;
      napi_get_element(env, raw_stats, i, &raw_stat);

      NAPI_BUFFER_CAST(uint32_t*, stats_array, raw_stat);
      struct stat st;
      populate_stat(stats_array, &st);

      // TODO: It turns out readdirplus likely won't work with FUSE 29...
      // Metadata caching between readdir/getattr will be enabled when we upgrade fuse-shared-library
      int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, 0, 0);
      if (err == 1) {
        break;
      }
    }
  }
})

#ifdef __APPLE__

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
  l->position = position;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->position = position;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

#else

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5])); // normalize apis between mac and linux
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

#endif

FUSE_METHOD(listxattr, 2, 1, (const char *path, char *list, size_t size), {
  l->path = path;
  l->list = list;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_external_buffer(env, l->size, l->list, NULL, NULL, &(argv[3]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD_VOID(removexattr, 2, 0, (const char *path, const char *name), {
  l->path = path;
  l->name = name;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(flush, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

// s3cachefs: a read or flush of a handle registered for direct reads is answered
// on this FUSE thread, without a round trip through the JS event loop; anything
// else (or a direct read that cannot be served) goes to JS as before.
static int fuse_native_read_direct (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  int served = direct_read(info->fh, buf, len, offset);
  if (served >= 0) return served;
  return fuse_native_read(path, buf, len, offset, info);
}

// s3cachefs: a read-only open of a clean file whose blocks are all on disk, as published by the
// daemon (known-files.h), is answered here with a handle registered for direct reads.
static int fuse_native_open_known (const char *path, struct fuse_file_info *info) {
  uint64_t fh;
  if (path != NULL && known_file_open(path, info->flags, &fh) == 0) {
    info->fh = fh;
    info->noflush = 1; // clean and read-only: nothing to flush on close, so no FLUSH round trip
    return 0;
  }
  int res = fuse_native_open(path, info);
  if (pt_requested) {
    // Consumed (and freed) by the reply hook, an error reply included.
    fuse_thread_locals_t *l = get_thread_locals();
    pt_set_backing(l->pt_path);
    l->pt_path = NULL;
  }
  return res;
}

static int fuse_native_flush_direct (const char *path, struct fuse_file_info *info) {
  direct_read_count(&direct_read_flushes, 1);
  if (info != NULL && direct_read_registered(info->fh)) return 0;
  return fuse_native_flush(path, info);
}

static int fuse_native_release_direct (const char *path, struct fuse_file_info *info) {
  if (info != NULL && direct_read_release(info->fh) == 0) return 0;
  return fuse_native_release(path, info);
}

FUSE_METHOD_VOID(fsync, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})

FUSE_METHOD_VOID(fsyncdir, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})


FUSE_METHOD_VOID(truncate, 3, 0, (const char *path, off_t size), {
  l->path = path;
  l->offset = size;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)
})

FUSE_METHOD_VOID(ftruncate, 4, 0, (const char *path, off_t size, struct fuse_file_info *info), {
  l->path = path;
  l->offset = size;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 4)
})

FUSE_METHOD(readlink, 1, 1, (const char *path, char *linkname, size_t len), {
  l->path = path;
  l->linkname = linkname;
  l->len = len;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  NAPI_ARGV_UTF8(linkname, l->len, 2)
  strncpy(l->linkname, linkname, l->len);
})

FUSE_METHOD_VOID(chown, 3, 0, (const char *path, uid_t uid, gid_t gid), {
  l->path = path;
  l->uid = uid;
  l->gid = gid;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->uid, &(argv[3]));
  napi_create_uint32(env, l->gid, &(argv[4]));
})

FUSE_METHOD_VOID(chmod, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(mknod, 3, 0, (const char *path, mode_t mode, dev_t dev), {
  l->path = path;
  l->mode = mode;
  l->dev = dev;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  napi_create_uint32(env, l->dev, &(argv[4]));
})

FUSE_METHOD_VOID(unlink, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
})

FUSE_METHOD_VOID(rename, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(link, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(symlink, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(mkdir, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(rmdir, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path != NULL ? l->path : "", NAPI_AUTO_LENGTH, &(argv[2]));
})

// s3cachefs: libfuse 3's signatures over the operations above. getattr and truncate name the
// handle when the kernel has one (ftruncate, a read past the end, and any request for a file
// unlinked while open, whose path is then NULL): they go to JS's fgetattr/ftruncate with it.
// chmod, chown and utimens are answered by path; libfuse 3 would call them with no path for a
// setattr that names the handle of a removed file, where there is nothing left to change: they
// answer success without reaching JS, which would take "" for the root directory (as readdir
// with no path reads as empty). Kernel 6.18 sends no such setattr (ftruncate's names only the
// size; fchmod and futimens name no handle, and libfuse answers ESTALE), so these are guards. Only rename(2) without flags is supported: RENAME_NOREPLACE/RENAME_EXCHANGE
// answer ENOSYS, so the kernel stops sending flags and answers EINVAL itself, as it did
// through libfuse 2.9's older protocol (callers such as mv then fall back to a plain rename).

static fuse_thread_t* current_fuse () {
  return (fuse_thread_t *) fuse_get_context()->private_data;
}

static int fuse3_getattr (const char *path, struct stat *stat, struct fuse_file_info *info) {
  // s3cachefs: a clean cached file the daemon published (known-files.h); with a handle too, as
  // JS answers a clean or a not-unlinked handle's fstat by its path, and a staged path is never published.
  if (path != NULL && path[0] != '\0' && known_file_stat(path, stat) == 0) return 0;
  if (info != NULL && current_fuse()->implemented[op_fgetattr]) return fuse_native_fgetattr(path, stat, info);
  return fuse_native_getattr(path, stat);
}

static int fuse3_truncate (const char *path, off_t size, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_fuse();
  if (info != NULL && ft->implemented[op_ftruncate]) return fuse_native_ftruncate(path, size, info);
  if (!ft->implemented[op_truncate]) return -ENOSYS;
  return fuse_native_truncate(path, size);
}

static int fuse3_chmod (const char *path, mode_t mode, struct fuse_file_info *info) {
  if (path == NULL) return 0;
  return fuse_native_chmod(path, mode);
}

static int fuse3_chown (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *info) {
  if (path == NULL) return 0;
  return fuse_native_chown(path, uid, gid);
}

static int fuse3_utimens (const char *path, const struct timespec tv[2], struct fuse_file_info *info) {
  if (path == NULL) return 0;
  return fuse_native_utimens(path, tv);
}

static int fuse3_rename (const char *path, const char *dest, unsigned int flags) {
  if (flags != 0) return -ENOSYS;
  return fuse_native_rename(path, dest);
}

static int fuse3_readdir (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info, enum fuse_readdir_flags flags) {
  if (path == NULL) return 0;
  return fuse_native_readdir(path, buf, filler, offset, info);
}

static void fuse_native_dispatch_init (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
  FUSE_NATIVE_CALLBACK(ft->handlers[op_init], {
    napi_value argv[2];

    napi_get_reference_value(env, l->self, &(argv[0]));
    napi_create_uint32(env, l->op, &(argv[1]));

    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 2, argv, NULL);
  })
}

NAPI_METHOD(fuse_native_signal_init) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);
  NAPI_ARGV_INT32(res, 1);
  l->res = res;
  uv_sem_post(&(l->sem));
  return NULL;
}

// s3cachefs: the kernel's bound on background requests (read-ahead reads, releases) for the
// mount, set by Fuse.maxBackground before the mount; 0 leaves the kernel's (12, and congested
// at 9). At the kernel's, a warm epoch of small files read by 16 threads met the congestion
// mark often enough that the kernel dropped read-ahead's asynchronous part and asked for the
// rest of a file in a second READ: 1.8 READs per file against 1.0 with 64 (ARCHITECTURE.md).
static uint32_t fn_max_background;

static void * fuse_native_init (struct fuse_conn_info *conn, struct fuse_config *cfg) {
  // s3cachefs: what libfuse 2.9 did by flags and options, libfuse 3 takes here.
  // hard_remove: unlink of an open file is not a rename to .fuse_hidden* (which would upload a
  // ghost object); such a file keeps working through its handle (libfuse 3 passes a NULL path
  // for a removed node, given to JS as ""). Not nullpath_ok: in libfuse 3 that means *every*
  // operation on a handle gets a NULL path (2.9's flag_nopath), and JS needs the paths.
  cfg->hard_remove = 1;
  // libfuse 3 asks the kernel for more than 2.9 did. Kept as with 2.9: O_TRUNC is a truncate
  // of its own (sent after the open), the kernel clears set-id bits on write and chown itself, page-cache
  // invalidation follows auto_cache (not every attribute refresh), O_DIRECT is synchronous,
  // and readdir answers names and types only (no READDIRPLUS). Left on: parallel lookups and
  // readdirs in one directory (libfuse's path locks keep them safe; the core is async).
  conn->want &= ~(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_AUTO_INVAL_DATA |
                  FUSE_CAP_ASYNC_DIO | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
  if (fn_max_background > 0) {
    // Congested at three quarters, as the kernel's own default and libfuse's derive it (at
    // least 1: a 0 in the reply keeps the kernel's 9, above a bound of 1).
    uint32_t congested = fn_max_background * 3 / 4;
    conn->max_background = fn_max_background;
    conn->congestion_threshold = congested > 0 ? congested : 1;
  }

  fuse_thread_locals_t *l = get_thread_locals();

  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;

  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));

  return l->fuse;
}

// Top-level dispatcher

static void fuse_native_dispatch (uv_async_t* handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  fuse_thread_t *ft = l->fuse;
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;

  fn(handle, l, ft);
}

static void fuse_native_async_init (uv_async_t* handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  fuse_thread_locals_t *l;

  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(ft->env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));

    napi_value buf;
    NAPI_MAKE_CALLBACK(ft->env, NULL, ctx, callback, 1, argv, &buf);

    size_t l_len;

    napi_get_buffer_info(env, buf, (void **) &l, &l_len);
    napi_create_reference(env, buf, 1, &(l->self));
  })


  int err = uv_async_init(uv_default_loop(), &(l->async), (uv_async_cb) fuse_native_dispatch);
  assert(err >= 0);

  uv_unref((uv_handle_t *) &(l->async));

  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  ft->async.data = l;
  l->fuse = ft;

  __atomic_add_fetch(&thread_locals_created, 1, __ATOMIC_RELAXED);
  uv_sem_post(&(ft->sem));
}

// s3cachefs: a FUSE worker thread exits (pthread key destructor): its state, idle between
// requests by then, goes to the idle list for the next thread, async handle and all.
static void release_thread_locals (void *data) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) data;
  fuse_thread_t *ft = l->fuse;
  uv_mutex_lock(&(ft->idle_mut));
  l->next_idle = ft->idle_locals;
  ft->idle_locals = l;
  uv_mutex_unlock(&(ft->idle_mut));
}

static fuse_thread_locals_t* take_idle_thread_locals (fuse_thread_t *ft) {
  uv_mutex_lock(&(ft->idle_mut));
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) ft->idle_locals;
  if (l != NULL) ft->idle_locals = l->next_idle;
  uv_mutex_unlock(&(ft->idle_mut));
  if (l != NULL) __atomic_add_fetch(&thread_locals_reused, 1, __ATOMIC_RELAXED);
  return l;
}

static fuse_thread_locals_t* get_thread_locals () {
  struct fuse_context *ctx = fuse_get_context();
  fuse_thread_t *ft = (fuse_thread_t *) ctx->private_data;

  void *data = pthread_getspecific(thread_locals_key);

  if (data != NULL) {
    return (fuse_thread_locals_t *) data;
  }

  fuse_thread_locals_t *idle = take_idle_thread_locals(ft);
  if (idle != NULL) {
    pthread_setspecific(thread_locals_key, (void *) idle);
    return idle;
  }

  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  ft->async.data = ft;

  // Notify the main thread to uv_async_init l->async.
  uv_async_send(&(ft->async));
  uv_sem_wait(&(ft->sem));

  fuse_thread_locals_t *l = (fuse_thread_locals_t*) ft->async.data;

  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(ft->mut));

  return l;
}

// s3cachefs: at most this many FUSE worker threads; a request that waits in JS (a cold read, a
// sync-mode close) holds one, and once all are taken every other request of the mount waits in
// the kernel, so the bound is far above what waits at once (libfuse 3.14's default, 10, is not;
// libfuse 2.9 had none). Workers beyond 10 idle exit, as with libfuse 2.9, so the request buffer
// each keeps (up to 1 MiB + 4 KiB, touched as far as its largest request) is not kept by a
// burst's workers for ever; their states go to the idle list (release_thread_locals).
#define FUSE_MAX_WORKER_THREADS 256
#define FUSE_MAX_IDLE_WORKER_THREADS 10

static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (config != NULL) {
    fuse_loop_cfg_set_max_threads(config, FUSE_MAX_WORKER_THREADS);
    fuse_loop_cfg_set_idle_threads(config, FUSE_MAX_IDLE_WORKER_THREADS);
  }
  fuse_loop_mt(ft->fuse, config);
  if (config != NULL) fuse_loop_cfg_destroy(config);

  fuse_unmount(ft->fuse);
  fuse_destroy(ft->fuse);

  return NULL;
}

NAPI_METHOD(fuse_native_mount) {
  NAPI_ARGV(7)

  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_UTF8(mntopts, 1024, 1);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 2);
  napi_create_reference(env, argv[3], 1, &(ft->ctx));
  napi_create_reference(env, argv[4], 1, &(ft->malloc));
  napi_value handlers = argv[5];
  NAPI_ARGV_BUFFER_CAST(uint32_t *, implemented, 6)

  for (int i = 0; i < 35; i++) {
    ft->handlers[i] = NULL;
  }

  NAPI_FOR_EACH(handlers, handler) {
    napi_create_reference(env, handler, 1, &ft->handlers[i]);
  }

  ft->env = env;

  for (int i = 0; i < 35; i++) ft->implemented[i] = implemented[i];

  struct fuse_operations ops = { };
  if (implemented[op_access]) ops.access = fuse_native_access;
  if (implemented[op_truncate] || implemented[op_ftruncate]) ops.truncate = fuse3_truncate;
  if (implemented[op_getattr]) ops.getattr = fuse3_getattr;
  if (implemented[op_flush]) ops.flush = fuse_native_flush_direct;
  if (implemented[op_fsync]) ops.fsync = fuse_native_fsync;
  if (implemented[op_fsyncdir]) ops.fsyncdir = fuse_native_fsyncdir;
  if (implemented[op_readdir]) ops.readdir = fuse3_readdir;
  if (implemented[op_readlink]) ops.readlink = fuse_native_readlink;
  if (implemented[op_chown]) ops.chown = fuse3_chown;
  if (implemented[op_chmod]) ops.chmod = fuse3_chmod;
  if (implemented[op_mknod]) ops.mknod = fuse_native_mknod;
  if (implemented[op_setxattr]) ops.setxattr = fuse_native_setxattr;
  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;
  if (implemented[op_listxattr]) ops.listxattr = fuse_native_listxattr;
  if (implemented[op_removexattr]) ops.removexattr = fuse_native_removexattr;
  if (implemented[op_statfs]) ops.statfs = fuse_native_statfs;
  if (implemented[op_open]) ops.open = fuse_native_open_known;
  if (implemented[op_opendir]) ops.opendir = fuse_native_opendir;
  if (implemented[op_read]) ops.read = fuse_native_read_direct;
  if (implemented[op_write]) ops.write = fuse_native_write;
  if (implemented[op_release]) ops.release = fuse_native_release_direct;
  if (implemented[op_releasedir]) ops.releasedir = fuse_native_releasedir;
  if (implemented[op_create]) ops.create = fuse_native_create;
  if (implemented[op_utimens]) ops.utimens = fuse3_utimens;
  if (implemented[op_unlink]) ops.unlink = fuse_native_unlink;
  if (implemented[op_rename]) ops.rename = fuse3_rename;
  if (implemented[op_link]) ops.link = fuse_native_link;
  if (implemented[op_symlink]) ops.symlink = fuse_native_symlink;
  if (implemented[op_mkdir]) ops.mkdir = fuse_native_mkdir;
  if (implemented[op_rmdir]) ops.rmdir = fuse_native_rmdir;
  // s3cachefs: always, for the settings fuse_native_init makes (hard_remove, capabilities).
  ops.init = fuse_native_init;

  int _argc = (strcmp(mntopts, "-o") <= 0) ? 1 : 2;
  char *_argv[] = {
    (char *) "fuse_bindings_dummy",
    (char *) mntopts
  };

  struct fuse_args args = FUSE_ARGS_INIT(_argc, _argv);
  struct fuse *fuse = fuse_new(&args, &ops, sizeof(struct fuse_operations), ft);
  fuse_opt_free_args(&args);

  if (fuse == NULL) {
    napi_throw_error(env, "fuse failed", "fuse failed: bad mount options");
    return NULL;
  }

  if (fuse_mount(fuse, mnt) != 0) {
    fuse_destroy(fuse);
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  // s3cachefs: passthrough asked for (Fuse.passthroughRequest before the mount): requests and
  // replies go through passthrough.h's hooks, which amend INIT and the opens it serves.
  if (pt_requested && pt_install(fuse_get_session(fuse)) != 0) pt_requested = 0;

  uv_mutex_init(&(ft->mut));
  uv_mutex_init(&(ft->idle_mut));
  ft->idle_locals = NULL;
  uv_sem_init(&(ft->sem), 0);

  strncpy(ft->mnt, mnt, 1024);
  strncpy(ft->mntopts, mntopts, 1024);
  ft->fuse = fuse;
  ft->mounted++;

  int err = uv_async_init(uv_default_loop(), &(ft->async), (uv_async_cb) fuse_native_async_init);

  if (err < 0) {
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  pthread_attr_init(&(ft->attr));
  pthread_create(&(ft->thread), &(ft->attr), start_fuse_thread, ft);

  return NULL;
}

// s3cachefs: Fuse.maxBackground(n), before the mount (fuse_native_init); returns nothing.
NAPI_METHOD(fuse_native_max_background) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(n, 0)
  fn_max_background = n < 65535 ? n : 65535;
  return NULL;
}

// s3cachefs: Fuse.passthroughRequest(on), before the mount (passthrough.h).
NAPI_METHOD(fuse_native_passthrough_request) {
  NAPI_ARGV(1)
  NAPI_ARGV_INT32(on, 0)
  pt_requested = on != 0;
  return NULL;
}

// s3cachefs: [requested, offered, granted, opens, shared, backingOpens, backingFailures,
// cachedFallbacks, busy, inodes, lastError, waits] (passthrough.h).
NAPI_METHOD(fuse_native_passthrough_stats) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(double *, out, 0)
  if (out_len < 12 * sizeof(double)) return NULL;
  pthread_mutex_lock(&pt_lock);
  double v[12] = { pt_requested, pt_offered, pt_granted, (double) pt_opens, (double) pt_shared, (double) pt_backing_opens,
                   (double) pt_backing_failures, (double) pt_cached_fallbacks, (double) pt_busy, (double) pt_inodes_now, pt_last_error,
                   (double) pt_waits };
  pthread_mutex_unlock(&pt_lock);
  memcpy(out, v, sizeof(v));
  return NULL;
}

// s3cachefs: whether opens may be handed to the kernel now (granted at INIT, and no BACKING_OPEN refused since).
NAPI_METHOD(fuse_native_passthrough_active) {
  napi_value result;
  napi_get_boolean(env, __atomic_load_n(&pt_granted, __ATOMIC_RELAXED) != 0, &result);
  return result;
}

NAPI_METHOD(fuse_native_unmount) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 1);

  if (ft != NULL && ft->mounted) {
    // TODO: Investigate why the FUSE thread is not always killed after fusermount.
    // pthread_join(ft->thread, NULL);
  }

  // TODO: fix the async holding the loop
  uv_unref((uv_handle_t *) &(ft->async));
  ft->mounted--;

  return NULL;
}

NAPI_METHOD(fuse_native_direct_read_set) {
  NAPI_ARGV(4)
  NAPI_ARGV_UINT32(fh, 0)
  NAPI_ARGV_UTF8(prefix, 4096, 1)
  double size = 0;
  NAPI_STATUS_THROWS(napi_get_value_double(env, argv[2], &size))
  NAPI_ARGV_UINT32(block_size, 3)
  int ok = size > 0 && size < 9007199254740992.0 && direct_read_set(fh, prefix, (uint64_t) size, block_size) == 0;
  NAPI_RETURN_UINT32(ok ? 1 : 0)
}

NAPI_METHOD(fuse_native_direct_read_clear) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(fh, 0)
  direct_read_clear(fh);
  return NULL;
}

// s3cachefs: the block-file prefix a handle is registered with ("" when it is not), and its object's size into out[0].
NAPI_METHOD(fuse_native_direct_read_info) {
  NAPI_ARGV(2)
  NAPI_ARGV_UINT32(fh, 0)
  NAPI_ARGV_BUFFER_CAST(double *, out, 1)
  char prefix[DIRECT_READ_PATH_MAX];
  uint64_t size = 0;
  if (direct_read_info(fh, prefix, sizeof prefix, &size) != 0) prefix[0] = '\0';
  if (out_len >= sizeof(double)) out[0] = (double) size;
  NAPI_RETURN_UTF8(prefix, NAPI_AUTO_LENGTH)
}

NAPI_METHOD(fuse_native_direct_read_take_released) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(uint32_t *, out, 0)
  NAPI_RETURN_UINT32((uint32_t) direct_read_take_released(out, out_len / sizeof(uint32_t)))
}

NAPI_METHOD(fuse_native_direct_read_stats) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(double *, out, 0)
  if (out_len < 6 * sizeof(double)) return NULL;
  direct_read_stats(out);
  return NULL;
}

// s3cachefs: the block files the direct reads keep open (block-fds.h).
NAPI_METHOD(fuse_native_block_file_forget) {
  NAPI_ARGV(1)
  NAPI_ARGV_UTF8(path, DIRECT_READ_PATH_MAX, 0)
  block_fd_forget(path);
  return NULL;
}

// blockFileWritten(path, header): the daemon renamed a block file into place (direct_read_prime).
NAPI_METHOD(fuse_native_block_file_written) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(path, DIRECT_READ_PATH_MAX, 0)
  NAPI_ARGV_BUFFER_CAST(unsigned char *, header, 1)
  direct_read_prime(path, header, header_len, 1);
  return NULL;
}

// blockFileWrite(tmp, dest, header, data, callback): the block file written, renamed into place and
// kept open for direct reads in one thread-pool task (block-writes.h); throws on bad arguments.
NAPI_METHOD(fuse_native_block_file_write) {
  NAPI_ARGV(5)
  if (!block_write_queue(env, argv)) napi_throw_error(env, "EINVAL", "blockFileWrite: expected (tmp, dest, header, data, callback)");
  return NULL;
}

NAPI_METHOD(fuse_native_block_files_reset) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(max, 0)
  block_fds_reset(max);
  return NULL;
}

NAPI_METHOD(fuse_native_block_files_stats) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(double *, out, 0)
  if (out_len < 6 * sizeof(double)) return NULL;
  block_fds_stats(out);
  out[3] = (double) __atomic_load_n(&page_dropper_dropped, __ATOMIC_RELAXED);
  out[4] = (double) __atomic_load_n(&page_dropper_skipped, __ATOMIC_RELAXED);
  out[5] = (double) __atomic_load_n(&block_writes_direct, __ATOMIC_RELAXED);
  return NULL;
}

// s3cachefs: allocBlock(size): a Buffer of `size` bytes (uninitialised) at a page-aligned address, freed
// when collected, for a fetched block whose file can then be written with O_DIRECT (block-writes.h).
static void block_memory_free (napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  free(data);
}

NAPI_METHOD(fuse_native_alloc_block) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(size, 0)
  void *mem = NULL;
  if (size == 0 || posix_memalign(&mem, BLOCK_DATA_ALIGN, size) != 0) {
    napi_throw_error(env, "ENOMEM", "allocBlock: out of memory");
    return NULL;
  }
  napi_value out;
  if (napi_create_external_buffer(env, size, mem, block_memory_free, NULL, &out) != napi_ok) {
    free(mem);
    napi_throw_error(env, "ENOMEM", "allocBlock: no buffer");
    return NULL;
  }
  return out;
}

// s3cachefs: zlib's CRC-32 through ISA-L (direct-reads.h: ~56 GB/s in C here, against ~5.6 for Node's zlib), for the
// daemon's own block checksums once it has checked that both agree (src/util/crc32.ts).
// crc32(bytes, initial) -> uint32
NAPI_METHOD(fuse_native_crc32) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER(data, 0)
  NAPI_ARGV_UINT32(initial, 1)
  NAPI_RETURN_UINT32(block_crc32_from(initial, data, data_len))
}

// s3cachefs: the files the daemon lets the FUSE threads answer (known-files.h).
// knownFileSet(path, statInts, ttlMs, blockFilePrefix or "", blockSize) -> 1 when published (st_size: the object's size)
NAPI_METHOD(fuse_native_known_file_set) {
  NAPI_ARGV(5)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_BUFFER_CAST(uint32_t *, ints, 1)
  double ttl_ms = 0;
  NAPI_STATUS_THROWS(napi_get_value_double(env, argv[2], &ttl_ms))
  NAPI_ARGV_UTF8(prefix, 4096, 3)
  NAPI_ARGV_UINT32(block_size, 4)
  // A path or prefix as long as the buffers may have been cut short: never published.
  int ok = ints_len >= 18 * sizeof(uint32_t) && path_len < 4095 && prefix_len < 4095;
  if (ok) {
    struct stat st;
    memset(&st, 0, sizeof st);
    populate_stat(ints, &st);
    ok = known_file_set(path, &st, ttl_ms, prefix[0] == '\0' ? NULL : prefix, block_size) == 0;
  }
  NAPI_RETURN_UINT32(ok ? 1 : 0)
}

NAPI_METHOD(fuse_native_known_file_clear) {
  NAPI_ARGV(1)
  NAPI_ARGV_UTF8(path, 4096, 0)
  known_file_clear(path);
  return NULL;
}

NAPI_METHOD(fuse_native_known_files_clear_dir) {
  NAPI_ARGV(1)
  NAPI_ARGV_UTF8(dir, 4096, 0)
  known_files_clear_dir(dir);
  return NULL;
}

NAPI_METHOD(fuse_native_known_files_clear_all) {
  known_files_clear_all();
  return NULL;
}

NAPI_METHOD(fuse_native_known_files_take_opened) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(char *, out, 0)
  NAPI_RETURN_UINT32((uint32_t) known_files_take_opened(out, out_len))
}

NAPI_METHOD(fuse_native_known_files_stats) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(double *, out, 0)
  if (out_len < 5 * sizeof(double)) return NULL;
  known_files_stats(out);
  return NULL;
}

// s3cachefs: FUSE worker thread states created since load, and taken again from the idle list.
NAPI_METHOD(fuse_native_thread_states) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(double *, out, 0)
  if (out_len < 2 * sizeof(double)) return NULL;
  out[0] = (double) __atomic_load_n(&thread_locals_created, __ATOMIC_RELAXED);
  out[1] = (double) __atomic_load_n(&thread_locals_reused, __ATOMIC_RELAXED);
  return NULL;
}

// s3cachefs: the caller of the request whose thread locals are `self` (uid, gid, pid into out).
NAPI_METHOD(fuse_native_caller) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0)
  NAPI_ARGV_BUFFER_CAST(uint32_t *, out, 1)
  if (out_len < 3 * sizeof(uint32_t)) return NULL;
  out[0] = (uint32_t) l->caller_uid;
  out[1] = (uint32_t) l->caller_gid;
  out[2] = (uint32_t) l->caller_pid;
  return NULL;
}

NAPI_INIT() {
  const napi_node_version* version;
  assert(napi_get_node_version(env, &version) == napi_ok);

  if (version->major > 12 || (version->major == 12 && version->minor >= 16)) {
    IS_ARRAY_BUFFER_DETACH_SUPPORTED = 1;
  }

  pthread_key_create(&(thread_locals_key), release_thread_locals);

  NAPI_EXPORT_SIZEOF(fuse_thread_t)

  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(fuse_native_max_background)
  NAPI_EXPORT_FUNCTION(fuse_native_passthrough_request)
  NAPI_EXPORT_FUNCTION(fuse_native_passthrough_stats)
  NAPI_EXPORT_FUNCTION(fuse_native_passthrough_active)
  NAPI_EXPORT_FUNCTION(fuse_native_direct_read_set)
  NAPI_EXPORT_FUNCTION(fuse_native_direct_read_clear)
  NAPI_EXPORT_FUNCTION(fuse_native_direct_read_info)
  NAPI_EXPORT_FUNCTION(fuse_native_direct_read_stats)
  NAPI_EXPORT_FUNCTION(fuse_native_thread_states)
  NAPI_EXPORT_FUNCTION(fuse_native_direct_read_take_released)
  NAPI_EXPORT_FUNCTION(fuse_native_caller)
  NAPI_EXPORT_FUNCTION(fuse_native_block_file_forget)
  NAPI_EXPORT_FUNCTION(fuse_native_block_file_written)
  NAPI_EXPORT_FUNCTION(fuse_native_block_file_write)
  NAPI_EXPORT_FUNCTION(fuse_native_block_files_reset)
  NAPI_EXPORT_FUNCTION(fuse_native_block_files_stats)
  NAPI_EXPORT_FUNCTION(fuse_native_alloc_block)
  NAPI_EXPORT_FUNCTION(fuse_native_crc32)
  NAPI_EXPORT_FUNCTION(fuse_native_known_file_set)
  NAPI_EXPORT_FUNCTION(fuse_native_known_file_clear)
  NAPI_EXPORT_FUNCTION(fuse_native_known_files_clear_dir)
  NAPI_EXPORT_FUNCTION(fuse_native_known_files_clear_all)
  NAPI_EXPORT_FUNCTION(fuse_native_known_files_take_opened)
  NAPI_EXPORT_FUNCTION(fuse_native_known_files_stats)
  NAPI_EXPORT_FUNCTION(fuse_native_unmount)

  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_init)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_access)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_statfs)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fgetattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_flush)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsync)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsyncdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_truncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_ftruncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_utimens)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chown)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chmod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mknod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_setxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_listxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_removexattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_open)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_opendir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_read)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_write)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_release)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_releasedir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_create)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_unlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rename)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_link)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_symlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mkdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rmdir)

  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_init)
  NAPI_EXPORT_UINT32(op_error)
  NAPI_EXPORT_UINT32(op_access)
  NAPI_EXPORT_UINT32(op_statfs)
  NAPI_EXPORT_UINT32(op_fgetattr)
  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_flush)
  NAPI_EXPORT_UINT32(op_fsync)
  NAPI_EXPORT_UINT32(op_fsyncdir)
  NAPI_EXPORT_UINT32(op_readdir)
  NAPI_EXPORT_UINT32(op_truncate)
  NAPI_EXPORT_UINT32(op_ftruncate)
  NAPI_EXPORT_UINT32(op_utimens)
  NAPI_EXPORT_UINT32(op_readlink)
  NAPI_EXPORT_UINT32(op_chown)
  NAPI_EXPORT_UINT32(op_chmod)
  NAPI_EXPORT_UINT32(op_mknod)
  NAPI_EXPORT_UINT32(op_setxattr)
  NAPI_EXPORT_UINT32(op_getxattr)
  NAPI_EXPORT_UINT32(op_listxattr)
  NAPI_EXPORT_UINT32(op_removexattr)
  NAPI_EXPORT_UINT32(op_open)
  NAPI_EXPORT_UINT32(op_opendir)
  NAPI_EXPORT_UINT32(op_read)
  NAPI_EXPORT_UINT32(op_write)
  NAPI_EXPORT_UINT32(op_release)
  NAPI_EXPORT_UINT32(op_releasedir)
  NAPI_EXPORT_UINT32(op_create)
  NAPI_EXPORT_UINT32(op_unlink)
  NAPI_EXPORT_UINT32(op_rename)
  NAPI_EXPORT_UINT32(op_link)
  NAPI_EXPORT_UINT32(op_symlink)
  NAPI_EXPORT_UINT32(op_mkdir)
  NAPI_EXPORT_UINT32(op_rmdir)
}
