#include "format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mpisweep::archive {

namespace fmt {

ParamType param_type_of(hid_t type, const std::string& path, const std::string& name) {
  switch (H5Tget_class(type)) {
    case H5T_ENUM: return ParamType::boolean;
    case H5T_INTEGER: return ParamType::integer;
    case H5T_FLOAT: return ParamType::real;
    case H5T_STRING: return ParamType::choice;
    default:
      H5Eclear2(H5E_DEFAULT);
      throw input_error(path, "parameter column '" + name + "' has an unsupported type");
  }
}

void check_format(hid_t file, const std::string& path) {
  if (h5::get_attr_string(file, "format") != format_name)
    throw input_error(path, "not an mpisweep archive (HDF5 file without format=\"" +
                                std::string(format_name) + "\")");
  for (const char* g : {"sweep", "tasks", "tasks/params", "tasks/metrics", "series", "runs"})
    if (!h5::exists(file, g))
      throw input_error(path, std::string("corrupt mpisweep archive: missing /") + g);
}

namespace {

template <class T>
RunColumn number(const char* name, hid_t native, T RunRecord::*field) {
  return {name, native, 0,
          [field](const RunRecord& r, void* out) { std::memcpy(out, &(r.*field), sizeof(T)); },
          [field](RunRecord& r, const void* in) { std::memcpy(&(r.*field), in, sizeof(T)); }};
}

RunColumn text(const char* name, std::size_t size, std::string RunRecord::*field,
               bool optional = false) {
  return {name,
          -1,
          size,
          [field, size](const RunRecord& r, void* out) {
            h5::pack_string(r.*field, static_cast<char*>(out), size);
          },
          [field, size](RunRecord& r, const void* in) {
            r.*field = h5::unpack_string(static_cast<const char*>(in), size);
          },
          optional};
}

}  // namespace

const std::vector<RunColumn>& run_columns() {
  static const std::vector<RunColumn> columns = {
      number("start", H5T_NATIVE_DOUBLE, &RunRecord::start),
      number("end", H5T_NATIVE_DOUBLE, &RunRecord::end),
      number("ranks", H5T_NATIVE_INT32, &RunRecord::ranks),
      number("threads_per_worker", H5T_NATIVE_INT32, &RunRecord::threads_per_worker),
      text("hosts", run_long_size, &RunRecord::hosts),
      text("git_commit", run_short_size, &RunRecord::git_commit),
      text("mpisweep_version", run_short_size, &RunRecord::mpisweep_version),
      text("slurm_job_id", run_short_size, &RunRecord::slurm_job_id),
      text("slurm_nodelist", run_long_size, &RunRecord::slurm_nodelist),
      text("command_line", run_long_size, &RunRecord::command_line),
      number("spec_hash", H5T_NATIVE_UINT64, &RunRecord::spec_hash),
      number("exit_status", H5T_NATIVE_INT32, &RunRecord::exit_status),
      // Since 0.3 (issue 16): which spec each run expanded, so an edited file or a --set is on
      // record next to the tasks it added.
      text("spec_toml", run_spec_size, &RunRecord::spec_toml, true),
      text("overrides", run_long_size, &RunRecord::overrides, true),
  };
  return columns;
}

std::vector<h5::Dataset> open_run_columns(hid_t file) {
  std::vector<h5::Dataset> out;
  for (const auto& c : run_columns()) {
    const std::string path = std::string("runs/") + c.name;
    out.push_back(c.optional && !h5::exists(file, path) ? h5::Dataset()
                                                        : h5::open_dataset(file, path));
  }
  return out;
}

bool is_status_flag_error(const std::string& stack) {
  return stack.find("already open for write") != std::string::npos ||
         stack.find("h5clear") != std::string::npos;
}

void open_failed(const std::string& path, const std::string& stack) {
  // h5::open_file waited lock_wait_seconds for a lock held elsewhere before this.
  if (h5::is_lock_conflict(stack))
    throw archive_error(path +
                        ": another program holds it open with HDF5 file locking (a reader that "
                        "did not ask for SWMR, such as h5py.File(path) without swmr=True, or "
                        "h5dump): close it and run again; open it with swmr=True to read while "
                        "mpisweep writes");
  if (stack.find("unable to lock") != std::string::npos ||
      stack.find("lock the file") != std::string::npos)
    throw archive_error("open archive " + path + ": " + stack +
                        " (this file system refuses file locks: set HDF5_USE_FILE_LOCKING=FALSE)");
  if (is_status_flag_error(stack) || stack.find("not already open for SWMR") != std::string::npos)
    throw input_error(path,
                      "the archive was left open by a killed writer and cannot be read "
                      "until `mpisweep run` resumes it or `h5clear -s " +
                          path + "` runs (" + stack + ")");
  // sec2 writes the open's errno into its message ("errno = 13, error message = ...").
  if (const auto at = stack.find("errno = "); at != std::string::npos)
    if (const int err = std::atoi(stack.c_str() + at + 8); err > 0)
      throw archive_error(read_error_text(err, path));
  throw input_error(path, "corrupt or unreadable archive: " + stack);
}

std::string read_error_text(int err, const std::string& path) {
  switch (err) {
    case EACCES:
    case EPERM: return "permission denied: " + path;
    case EIO: return "I/O error: " + path;
    default: return std::string(std::strerror(err)) + ": " + path;
  }
}

void check_readable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  const int err = errno;
  if (err != ENOENT && err != ENOTDIR) throw archive_error(read_error_text(err, path));
}

}  // namespace fmt
}  // namespace mpisweep::archive
