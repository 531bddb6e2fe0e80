/* A user quota for kernels built without one (CONFIG_QUOTA / CONFIG_TMPFS_QUOTA off), for
 * tests/fault/test_disk_quota.py: preloaded, it fails every write to a file under
 * MPISWEEP_TEST_QUOTA_DIR with EDQUOT, as the kernel does once the user's block hard limit is
 * reached (write(2), ERRORS), from the moment the file MPISWEEP_TEST_QUOTA_FULL exists: the test
 * creates it to use up the quota at a moment of its choosing. Other writes pass through
 * unchanged. Built by the test, never installed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int counted(int fd, size_t n) {
  const char* dir = getenv("MPISWEEP_TEST_QUOTA_DIR");
  const char* full = getenv("MPISWEEP_TEST_QUOTA_FULL");
  if (!dir || !full || access(full, F_OK) != 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = readlink(link, path, sizeof path - 1);
  if (len <= 0) return 0;
  path[len] = '\0';
  if (strncmp(path, dir, strlen(dir)) != 0) return 0;
  (void)n;
  return -1;
}

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  if (counted(fd, n) < 0) {
    errno = EDQUOT;
    return -1;
  }
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t at) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  if (counted(fd, n) < 0) {
    errno = EDQUOT;
    return -1;
  }
  return real(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t at) { return pwrite(fd, buf, n, at); }
