#pragma once
// Marks a live writer. HDF5 drops its own file lock once SWMR writing starts, and a killed
// writer's status flags look exactly like a live writer's, so without this a second `run` would
// clear the flags of a file that is still being written and corrupt it. The writer holds an
// open-file-description lock on one byte far past the end of the archive: readers never touch it,
// it does not interact with HDF5's flock on local file systems, and the kernel drops it when the
// process dies (kill -9 included).
#include <string>

namespace mpisweep::archive {

class LiveLock {
 public:
  LiveLock() = default;
  LiveLock(const LiveLock&) = delete;
  LiveLock& operator=(const LiveLock&) = delete;
  ~LiveLock() { release(); }

  // True when another process holds the lock (a live writer). False when free or when the file
  // system cannot tell (no fcntl locks): then there is no protection, as with HDF5's own locking
  // switched off.
  static bool held_elsewhere(const std::string& path);
  // False if another process holds it.
  bool acquire(const std::string& path);
  void release() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace mpisweep::archive
