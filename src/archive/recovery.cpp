#include "recovery.hpp"

#include "format.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

extern char** environ;

namespace mpisweep::archive {

namespace {

// Runs `h5clear -s path` (hdf5-tools) with its output discarded.
bool run_h5clear(const std::string& path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string a0 = "h5clear", a1 = "-s";
  std::string a2 = path;
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "h5clear", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// An H5Fopen whose failure is expected and examined, not thrown: an empty File then, with the
// error stack in `stack`.
h5::File try_open(const std::string& path, unsigned flags, bool latest, std::string& stack,
                  h5::IoStatus* io = nullptr) {
  h5::PropList fapl = io ? h5::file_access(latest, *io) : h5::file_access(latest);
  return h5::open_file(path, flags, fapl.id(), stack);
}

// Opens (with `flags`) a file whose superblock still carries the status flags of a killed writer,
// clearing them. HDF5 1.10 has no public call for it; h5clear sets the file-access property
// "clear_status_flags" (registered on every fapl, so the public H5Pset reaches it), which makes the
// open itself clear the flags. Fall back to running `h5clear -s` and opening again.
h5::File open_clearing_flags(const std::string& path, unsigned flags, h5::IoStatus& io) {
  {
    h5::PropList fapl = h5::file_access(true, io);
    hbool_t yes = true;
    if (H5Pexist(fapl.id(), "clear_status_flags") > 0 &&
        H5Pset(fapl.id(), "clear_status_flags", &yes) >= 0) {
      std::string ignored;
      if (h5::File f = h5::open_file(path, flags, fapl.id(), ignored)) return f;
    }
    h5::take_error_stack();
  }
  if (!run_h5clear(path))
    throw archive_error(path +
                        ": cannot clear the status flags left by a killed writer "
                        "(neither the clear_status_flags property nor `h5clear -s` worked)");
  std::string stack;
  h5::File f = try_open(path, flags, true, stack, &io);
  if (!f) fmt::open_failed(path, stack);
  return f;
}

}  // namespace

h5::File open_for_writing(const std::string& path, h5::IoStatus& io) {
  const unsigned flags = H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE;
  std::string stack;
  h5::File f = try_open(path, flags, true, stack, &io);
  if (f) return f;
  // The file cannot be opened for writing at all (read-only file system, no permission): say so,
  // not "corrupt" (issue 11 item 12).
  if (io.open_error) throw archive_error(h5::io_error_text(io.open_error, path));
  if (!fmt::is_status_flag_error(stack)) {
    // Not a killed writer's file: a foreign HDF5 file (no SWMR superblock) says so here.
    std::string ignored;
    if (h5::File plain = try_open(path, H5F_ACC_RDONLY, false, ignored))
      fmt::check_format(plain.id(), path);
    fmt::open_failed(path, stack);
  }
  return open_clearing_flags(path, flags, io);
}

h5::File open_for_reading(const std::string& path) {
  std::string stack, ignored;
  h5::File f = try_open(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, false, stack);
  // The plain open is for files written without SWMR; a lock held elsewhere was already waited
  // out (h5::open_file), not twice.
  if (!f && !h5::is_lock_conflict(stack)) f = try_open(path, H5F_ACC_RDONLY, false, ignored);
  if (!f) fmt::open_failed(path, stack);
  return f;
}

}  // namespace mpisweep::archive
