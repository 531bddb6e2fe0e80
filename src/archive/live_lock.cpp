#include "live_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace mpisweep::archive {

namespace {
constexpr off_t lock_offset = off_t{1} << 62;

struct flock request(short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = lock_offset;
  fl.l_len = 1;
  return fl;
}
}  // namespace

bool LiveLock::held_elsewhere(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = request(F_WRLCK);
  bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

bool LiveLock::acquire(const std::string& path) {
  release();
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return true;
  struct flock fl = request(F_WRLCK);
  if (::fcntl(fd_, F_OFD_SETLK, &fl) == 0) return true;
  const int e = errno;
  release();
  return !(e == EAGAIN || e == EACCES);
}

void LiveLock::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace mpisweep::archive
