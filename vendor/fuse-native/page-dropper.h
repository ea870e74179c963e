// s3cachefs: block files the daemon has just written leave the page cache once they are on disk.
//
// A block fetched from the store is in memory three times over: the daemon's own buffers, the
// FUSE file's page cache (the reader's copy, which the kernel keeps) and the block file's
// page cache, written by the disk cache. The third copy serves nobody (a warm read comes from
// the FUSE page cache, or from disk once the page cache was dropped), and filling it costs a
// page allocation per 4 KiB: in a virtual machine whose free memory was never touched, the
// first touch of each new page is dear. Measured on this project's machine (a cold read of a
// 1 GiB object through the mount, three runs each): daemon CPU 4.7–6.1 s with the block files'
// pages left in the cache, 2.8–2.95 s with them dropped after writeback; 166–215 → 303–321 MB/s.
//
// Only blocks of PAGE_DROP_MIN_BYTES or more: writing a file out and dropping it costs ~0.25 ms
// (a loader's cold epoch over 2,000 files of ~110 KB: 3.65–3.68 → 4.15–4.23 daemon CPU-s and
// 5 % fewer images/s with every file dropped), more than its few pages' first touch saves.
//
// direct_read_prime (direct-reads.h) hands each such file it keeps open to this thread, with a
// reference: the thread writes the file's pages out (sync_file_range: data only, no journal
// commit), drops them (posix_fadvise DONTNEED) and releases the reference. Off the JS thread
// and the FUSE threads. Bounded: the queue holds at most as many files as the open-file table
// (block_fd_max: the descriptors it holds count against the same budget); when full, the drop
// is skipped and the pages stay cached.
#ifndef S3CACHEFS_PAGE_DROPPER_H
#define S3CACHEFS_PAGE_DROPPER_H

#include <fcntl.h>
#include <pthread.h>

#include "block-fds.h"

#define PAGE_DROPPER_QUEUE 4096
/** Smaller block files keep their pages (see above). */
#define PAGE_DROP_MIN_BYTES (1u << 20)

static block_fd_t *page_dropper_queue[PAGE_DROPPER_QUEUE];
static size_t page_dropper_head, page_dropper_count;
static pthread_mutex_t page_dropper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t page_dropper_ready = PTHREAD_COND_INITIALIZER;
static pthread_once_t page_dropper_once = PTHREAD_ONCE_INIT;
static int page_dropper_running;
static uint64_t page_dropper_dropped, page_dropper_skipped;

static void *page_dropper_main (void *arg) {
  (void) arg;
  for (;;) {
    pthread_mutex_lock(&page_dropper_lock);
    while (page_dropper_count == 0) pthread_cond_wait(&page_dropper_ready, &page_dropper_lock);
    block_fd_t *file = page_dropper_queue[page_dropper_head];
    page_dropper_head = (page_dropper_head + 1) % PAGE_DROPPER_QUEUE;
    page_dropper_count--;
    pthread_mutex_unlock(&page_dropper_lock);
    // Dirty pages are not dropped: write them out first (and wait), then drop the clean ones.
    int ok = sync_file_range(file->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0 &&
      posix_fadvise(file->fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    block_fd_release(file);
    __atomic_add_fetch(ok ? &page_dropper_dropped : &page_dropper_skipped, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void page_dropper_start (void) {
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  page_dropper_running = pthread_create(&thread, &attr, page_dropper_main, NULL) == 0;
  pthread_attr_destroy(&attr);
}

/** Takes over the caller's reference to `file`: its pages are written out and dropped, then it is released. */
static void page_dropper_add (block_fd_t *file) {
  pthread_once(&page_dropper_once, page_dropper_start);
  size_t max = block_fd_max_now();
  pthread_mutex_lock(&page_dropper_lock);
  int queued = page_dropper_running && page_dropper_count < PAGE_DROPPER_QUEUE && page_dropper_count < max;
  if (queued) {
    page_dropper_queue[(page_dropper_head + page_dropper_count) % PAGE_DROPPER_QUEUE] = file;
    page_dropper_count++;
    pthread_cond_signal(&page_dropper_ready);
  }
  pthread_mutex_unlock(&page_dropper_lock);
  if (!queued) {
    __atomic_add_fetch(&page_dropper_skipped, 1, __ATOMIC_RELAXED);
    block_fd_release(file);
  }
}

#endif
