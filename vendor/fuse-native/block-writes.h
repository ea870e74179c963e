// s3cachefs: a block file written, renamed into place and kept open for direct reads in one
// task on libuv's thread pool.
//
// The disk cache writes every block it fetches to a temporary file and renames it into place
// (src/cache/disk/block-files.ts). Through Node's fs that is four round trips to the thread pool
// (open, writev, close, rename), each a wake-up of a pool thread, a wake-up of the event loop and
// a callback, and then the binding opened the new file again on the event loop to keep it for
// direct reads (direct_read_prime). Here the same system calls run in one pool task, the file is
// opened for reading from there, and the event loop hears once. Measured in the daemon: see
// docs/ARCHITECTURE.md (session 19).
//
// blockFileWrite(tmp, dest, header, data, callback(err)): err carries `code` (ENOENT, ENOSPC…) and
// `syscall` (open, write, close, rename) as fs's errors do; a failed write removes `tmp`, a failed
// rename leaves it in place for the caller (a missing directory is made and the rename retried
// there). A write that makes no progress is ENOSPC, as a short write is in block-files.ts.
#ifndef S3CACHEFS_BLOCK_WRITES_H
#define S3CACHEFS_BLOCK_WRITES_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "direct-reads.h"

typedef struct {
  napi_async_work work;
  napi_ref callback;
  napi_ref header_ref;
  napi_ref data_ref;
  const unsigned char *header;
  size_t header_len;
  const unsigned char *data;
  size_t data_len;
  int err;
  const char *syscall;
  char tmp[PATH_MAX];
  char dest[PATH_MAX];
} block_write_t;

/** Writes all of header then data to fd; 0, or an errno (ENOSPC for a write that makes no progress). */
static int block_write_all (int fd, const unsigned char *header, size_t header_len, const unsigned char *data, size_t data_len) {
  size_t done = 0, total = header_len + data_len;
  while (done < total) {
    struct iovec iov[2];
    int n = 0;
    if (done < header_len) {
      iov[n].iov_base = (void *) (header + done);
      iov[n].iov_len = header_len - done;
      n++;
    }
    size_t data_done = done > header_len ? done - header_len : 0;
    if (data_len > data_done) {
      iov[n].iov_base = (void *) (data + data_done);
      iov[n].iov_len = data_len - data_done;
      n++;
    }
    ssize_t w = writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return ENOSPC;
    done += (size_t) w;
  }
  return 0;
}

/**
 * A block whose header and data are whole pages, the data in page-aligned memory (a version-3
 * block in a buffer from allocBlock), is written past the page cache (O_DIRECT): the disk reads
 * it straight from the daemon's buffer. Through the page cache every byte was copied into new
 * page-cache pages, written out and dropped again (page-dropper.h): ~0.4 CPU-s per cold GiB on
 * this project's machine (docs/ARCHITECTURE.md, session 22). Off for good once the cache's file
 * system refuses it (EINVAL: tmpfs, some network file systems); the write is then done again
 * through the page cache.
 */
static int block_write_direct_ok = 1;
static uint64_t block_writes_direct;

/** 0 when written with O_DIRECT; -1 when it could not be (then nothing is left at tmp); else an errno, `*syscall` naming the call. */
static int block_write_direct (block_write_t *w, const char **syscall) {
  if (!__atomic_load_n(&block_write_direct_ok, __ATOMIC_RELAXED) || w->header_len != BLOCK_DATA_ALIGN || w->data_len % BLOCK_DATA_ALIGN != 0 ||
      (uintptr_t) w->data % BLOCK_DATA_ALIGN != 0) return -1;
  unsigned char *header = NULL;
  if (posix_memalign((void **) &header, BLOCK_DATA_ALIGN, BLOCK_DATA_ALIGN) != 0) return -1;
  memcpy(header, w->header, BLOCK_DATA_ALIGN);
  int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0666);
  if (fd < 0) {
    int err = errno;
    free(header);
    if (err == EINVAL) {
      __atomic_store_n(&block_write_direct_ok, 0, __ATOMIC_RELAXED);
      return -1;
    }
    *syscall = "open";
    return err;
  }
  int err = block_write_all(fd, header, BLOCK_DATA_ALIGN, w->data, w->data_len);
  free(header);
  if (close(fd) != 0 && err == 0) {
    err = errno;
    *syscall = "close";
  }
  if (err == EINVAL) {
    __atomic_store_n(&block_write_direct_ok, 0, __ATOMIC_RELAXED);
    unlink(w->tmp);
    return -1;
  }
  if (err != 0 && *syscall == NULL) *syscall = "write";
  if (err == 0) __atomic_add_fetch(&block_writes_direct, 1, __ATOMIC_RELAXED);
  return err;
}

/** Renames the written file into place, kept open with its header from now on (direct-reads.h); `cached`: written through the page cache, whose pages are then written out and dropped. */
static void block_write_place (block_write_t *w, int cached) {
  if (rename(w->tmp, w->dest) != 0) {
    w->err = errno;
    w->syscall = "rename";
    return;
  }
  direct_read_prime(w->dest, w->header, w->header_len, cached);
}

static void block_write_execute (napi_env env, void *arg) {
  (void) env;
  block_write_t *w = arg;
  const char *syscall = NULL;
  int direct = block_write_direct(w, &syscall);
  if (direct > 0) {
    w->err = direct;
    w->syscall = syscall;
    unlink(w->tmp);
    return;
  }
  if (direct == 0) return block_write_place(w, 0);
  int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    w->err = errno;
    w->syscall = "open";
    return;
  }
  int err = block_write_all(fd, w->header, w->header_len, w->data, w->data_len);
  if (close(fd) != 0 && err == 0) {
    err = errno;
    w->syscall = "close";
  }
  if (err != 0) {
    w->err = err;
    if (w->syscall == NULL) w->syscall = "write";
    unlink(w->tmp); // a partial file (a full disk) takes no room until the next start clears tmp/
    return;
  }
  block_write_place(w, 1);
}

static void block_write_complete (napi_env env, napi_status status, void *arg) {
  block_write_t *w = arg;
  napi_value argv[1];
  if (status != napi_ok && w->err == 0) {
    w->err = ECANCELED;
    w->syscall = "write";
  }
  if (w->err == 0) {
    napi_get_null(env, &argv[0]);
  } else {
    char message[PATH_MAX + 128];
    snprintf(message, sizeof message, "%s: %s, %s '%s'", uv_err_name(-w->err), strerror(w->err), w->syscall,
      strcmp(w->syscall, "rename") == 0 ? w->dest : w->tmp);
    napi_value code, msg, syscall, errno_value;
    napi_create_string_utf8(env, uv_err_name(-w->err), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &argv[0]);
    napi_create_string_utf8(env, w->syscall, NAPI_AUTO_LENGTH, &syscall);
    napi_set_named_property(env, argv[0], "syscall", syscall);
    napi_create_int32(env, -w->err, &errno_value);
    napi_set_named_property(env, argv[0], "errno", errno_value);
  }
  napi_value callback, global;
  napi_get_reference_value(env, w->callback, &callback);
  napi_get_global(env, &global);
  napi_delete_reference(env, w->callback);
  napi_delete_reference(env, w->header_ref);
  napi_delete_reference(env, w->data_ref);
  napi_delete_async_work(env, w->work);
  free(w);
  napi_call_function(env, global, callback, 1, argv, NULL);
}

/** Queues the write; false (nothing queued) if the arguments are not two paths, two buffers and a function. */
static int block_write_queue (napi_env env, napi_value *argv) {
  block_write_t *w = calloc(1, sizeof(block_write_t));
  if (w == NULL) return 0;
  size_t n;
  void *header, *data;
  napi_valuetype type;
  if (napi_get_value_string_utf8(env, argv[0], w->tmp, sizeof w->tmp, &n) != napi_ok || n + 1 >= sizeof w->tmp ||
      napi_get_value_string_utf8(env, argv[1], w->dest, sizeof w->dest, &n) != napi_ok || n + 1 >= sizeof w->dest ||
      napi_get_buffer_info(env, argv[2], &header, &w->header_len) != napi_ok ||
      napi_get_buffer_info(env, argv[3], &data, &w->data_len) != napi_ok ||
      napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function) {
    free(w);
    return 0;
  }
  w->header = header;
  w->data = data;
  napi_value name;
  napi_create_string_utf8(env, "s3cachefs:blockFileWrite", NAPI_AUTO_LENGTH, &name);
  // The buffers stay alive (and unmoved: Buffers never move) until the task is done.
  napi_create_reference(env, argv[2], 1, &w->header_ref);
  napi_create_reference(env, argv[3], 1, &w->data_ref);
  napi_create_reference(env, argv[4], 1, &w->callback);
  int created = napi_create_async_work(env, NULL, name, block_write_execute, block_write_complete, w, &w->work) == napi_ok;
  if (!created || napi_queue_async_work(env, w->work) != napi_ok) {
    if (created) napi_delete_async_work(env, w->work);
    napi_delete_reference(env, w->callback);
    napi_delete_reference(env, w->header_ref);
    napi_delete_reference(env, w->data_ref);
    free(w);
    return 0;
  }
  return 1;
}

#endif
