// Superseded by vendor/fuse-native/passthrough.h (session 20: libfuse's custom I/O hooks instead of a GOT patch).
// Prototype, not part of the product (session 19, 2026-12-03): FUSE passthrough through Debian 12's
// libfuse 3.14 high-level API, which has no passthrough support (libfuse 3.16 added it). It patches
// libfuse's GOT entry for writev so that it can amend two replies libfuse builds: INIT (the
// FUSE_PASSTHROUGH flag, bit 37, and max_stack_depth 1) and OPEN (FOPEN_PASSTHROUGH and the backing
// id from the FUSE_DEV_IOC_BACKING_OPEN ioctl, set by the open handler in a thread-local just before
// libfuse replies on the same thread). It mirrors one file of BACKING.
//
// Build and run (as root, kernel >= 6.9 with CONFIG_FUSE_PASSTHROUGH):
//   gcc -O2 -Wall -o pt passthrough-libfuse314.c $(pkg-config --cflags --libs fuse3) -lpthread
//   BACKING=/some/dir ./pt -f /mnt/ptp        # NOPT=1: the same without passthrough
// What it showed (docs/ARCHITECTURE.md, "Session 19"): reads of a 256 MiB file with 0 of them
// reaching the daemon, random 256 KiB reads at local-disk speed; and that the kernel takes one
// backing file per inode (concurrent opens with different backing ids failed with EIO), so the
// backing id must be shared by an inode's opens and counted.
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <link.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>

struct backing_map { int32_t fd; uint32_t flags; uint64_t padding; };
#define IOC_BACKING_OPEN _IOW(229, 1, struct backing_map)
#define IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#define FOPEN_PASSTHROUGH_FLAG (1u << 7)
#define FUSE_PASSTHROUGH_FLAGS2 (1u << 5) /* 1ULL << 37 */

static const char *backing_dir;
static ssize_t (*real_writev)(int, const struct iovec *, int);
static __thread int32_t tl_backing;
static int init_seen, passthrough_granted;
static long reads_seen;
/* The kernel takes one backing file per inode: opens share it (one file here), counted. */
static pthread_mutex_t bk_lock = PTHREAD_MUTEX_INITIALIZER;
static int32_t bk_id; static int bk_users;

static ssize_t hook_writev(int fd, const struct iovec *iov, int cnt) {
  if (!init_seen && cnt >= 2 && iov[1].iov_len == 64) {
    init_seen = 1;
    unsigned char out[64];
    memcpy(out, iov[1].iov_base, 64);
    uint32_t flags2; memcpy(&flags2, out + 32, 4); flags2 |= FUSE_PASSTHROUGH_FLAGS2; memcpy(out + 32, &flags2, 4);
    uint32_t depth = 1; memcpy(out + 36, &depth, 4);
    struct iovec v[2] = { iov[0], { out, 64 } };
    return real_writev(fd, v, 2);
  }
  if (tl_backing > 0 && cnt >= 2 && iov[1].iov_len == 16) {
    unsigned char out[16];
    memcpy(out, iov[1].iov_base, 16);
    uint32_t of; memcpy(&of, out + 8, 4); of |= FOPEN_PASSTHROUGH_FLAG; memcpy(out + 8, &of, 4);
    memcpy(out + 12, &tl_backing, 4);
    tl_backing = 0;
    struct iovec v[2] = { iov[0], { out, 16 } };
    return real_writev(fd, v, 2);
  }
  return real_writev(fd, iov, cnt);
}

static int patch_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void) size; (void) data;
  if (strstr(info->dlpi_name, "libfuse3.so") == NULL) return 0;
  ElfW(Dyn) *dyn = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++) if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (ElfW(Dyn) *) (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  ElfW(Sym) *symtab = NULL; const char *strtab = NULL; ElfW(Rela) *jmprel = NULL, *rela = NULL; size_t jmpsz = 0, relasz = 0;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    switch (dyn->d_tag) {
      case DT_SYMTAB: symtab = (ElfW(Sym) *) dyn->d_un.d_ptr; break;
      case DT_STRTAB: strtab = (const char *) dyn->d_un.d_ptr; break;
      case DT_JMPREL: jmprel = (ElfW(Rela) *) dyn->d_un.d_ptr; break;
      case DT_PLTRELSZ: jmpsz = dyn->d_un.d_val; break;
      case DT_RELA: rela = (ElfW(Rela) *) dyn->d_un.d_ptr; break;
      case DT_RELASZ: relasz = dyn->d_un.d_val; break;
    }
  }
  int patched = 0;
  ElfW(Rela) *tables[2] = { jmprel, rela }; size_t sizes[2] = { jmpsz, relasz };
  for (int t = 0; t < 2; t++) {
    if (tables[t] == NULL) continue;
    for (size_t k = 0; k < sizes[t] / sizeof(ElfW(Rela)); k++) {
      ElfW(Rela) *r = &tables[t][k];
      uint32_t type = ELF64_R_TYPE(r->r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      const char *name = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
      if (strcmp(name, "writev") != 0) continue;
      void **slot = (void **) (info->dlpi_addr + r->r_offset);
      uintptr_t page = (uintptr_t) slot & ~(uintptr_t) 4095;
      mprotect((void *) page, 4096, PROT_READ | PROT_WRITE);
      real_writev = (ssize_t (*)(int, const struct iovec *, int)) *slot;
      *slot = (void *) hook_writev;
      patched++;
    }
  }
  fprintf(stderr, "patched %d writev slot(s) in %s\n", patched, info->dlpi_name);
  return 1;
}

static void full(const char *path, char *out) { snprintf(out, 4096, "%s%s", backing_dir, path); }
static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void) fi; char p[4096]; full(path, p); return lstat(p, st) == 0 ? 0 : -errno;
}
static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags fl) {
  (void) off; (void) fi; (void) fl; (void) path;
  filler(buf, ".", NULL, 0, 0); filler(buf, "..", NULL, 0, 0); filler(buf, "s256.bin", NULL, 0, 0); return 0;
}
static int pt_open(const char *path, struct fuse_file_info *fi) {
  char p[4096]; full(path, p);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t) fd;
  if (getenv("NOPT") == NULL) {
    int devfd = fuse_session_fd(fuse_get_session(fuse_get_context()->fuse));
    pthread_mutex_lock(&bk_lock);
    if (bk_users == 0) { struct backing_map map = { .fd = fd }; bk_id = ioctl(devfd, IOC_BACKING_OPEN, &map); }
    int id = bk_id;
    if (id > 0) bk_users++;
    pthread_mutex_unlock(&bk_lock);
    if (id > 0) { tl_backing = id; passthrough_granted++; fi->fh |= ((uint64_t) id << 32); }
    else if (passthrough_granted == 0) { fprintf(stderr, "backing open: %s\n", strerror(errno)); passthrough_granted = -1; }
  }
  return 0;
}
static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) path; __atomic_add_fetch(&reads_seen, 1, __ATOMIC_RELAXED);
  ssize_t n = pread((int) (fi->fh & 0xffffffff), buf, size, off); return n < 0 ? -errno : (int) n;
}
static int pt_release(const char *path, struct fuse_file_info *fi) {
  (void) path;
  uint32_t id = (uint32_t) (fi->fh >> 32);
  if (id > 0) {
    pthread_mutex_lock(&bk_lock);
    if (--bk_users == 0) ioctl(fuse_session_fd(fuse_get_session(fuse_get_context()->fuse)), IOC_BACKING_CLOSE, &id);
    pthread_mutex_unlock(&bk_lock);
  }
  close((int) (fi->fh & 0xffffffff));
  return 0;
}
static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg) { (void) conn; cfg->kernel_cache = 0; return NULL; }
static const struct fuse_operations ops = { .getattr = pt_getattr, .readdir = pt_readdir, .open = pt_open, .read = pt_read, .release = pt_release, .init = pt_init };

int main(int argc, char *argv[]) {
  backing_dir = getenv("BACKING");
  dl_iterate_phdr(patch_cb, NULL);
  int r = fuse_main(argc, argv, &ops, NULL);
  fprintf(stderr, "reads seen by the daemon: %ld, passthrough opens: %d\n", reads_seen, passthrough_granted);
  return r;
}
