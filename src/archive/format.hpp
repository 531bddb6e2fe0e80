#pragma once
// Names, sizes and checks of the archive format shared by Writer and Reader (docs/archive.md).
//
// File locking: HDF5 1.10.7+ locks the file (flock) on open so a second writer is refused. On some
// cluster file systems (Lustre without flock, some NFS mounts) the lock call itself fails and
// every open fails with "unable to lock the file". Users there set HDF5_USE_FILE_LOCKING=FALSE in
// the environment; HDF5 reads it itself, nothing in mpisweep needs to change. A lock another
// process holds (a reader without SWMR) is waited for, then named (h5::open_file, open_failed).
#include "h5.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mpisweep::archive::fmt {

inline constexpr const char* format_name = "mpisweep-archive";

// Rows per chunk of every /tasks and /series/*/{offset,length} column. All task columns share it
// so a dirty row range maps to whole chunks in every column (flush rewrites only those).
inline constexpr hsize_t task_chunk = 1024;
inline constexpr hsize_t runs_chunk = 16;

// Fixed string sizes of /runs include the terminator (the /tasks ones are in row_store.hpp).
inline constexpr std::size_t run_short_size = 64;    // git commit, version, SLURM job id
inline constexpr std::size_t run_long_size = 4096;   // hosts, node list, command line, --set
inline constexpr std::size_t run_spec_size = 65536;  // the run's sweep file text (deflated)

// Which ParamType an existing column's datatype stores; throws input_error (at `path`) if none.
ParamType param_type_of(hid_t dataset_type, const std::string& path, const std::string& name);

// Checks the root "format" attribute; input_error naming `path` otherwise.
void check_format(hid_t file, const std::string& path);

// One column of /runs: its memory type (numeric native type, or a fixed string of `str_size`) and
// how a RunRecord field goes in and out of one element.
struct RunColumn {
  const char* name;
  hid_t native;          // H5T_NATIVE_* for numbers; negative for strings
  std::size_t str_size;  // for strings
  std::function<void(const RunRecord&, void*)> get;
  std::function<void(RunRecord&, const void*)> set;
  // Added after the first archives were written: an archive without it still opens (its rows
  // read as empty, and a run that resumes it does not record the field).
  bool optional = false;
  std::size_t elem_size() const { return native >= 0 ? h5::type_size(native) : str_size; }
  h5::Datatype mem_type() const {
    return native >= 0 ? h5::copy_type(native) : h5::string_type(str_size);
  }
};
const std::vector<RunColumn>& run_columns();
// The /runs datasets of `file`, one per run_columns() entry in that order; an empty handle for an
// optional column the file lacks. Throws archive_error for a missing required one.
std::vector<h5::Dataset> open_run_columns(hid_t file);

// The error stack of a failed H5Fopen decides between "killed SWMR writer" and other failures.
bool is_status_flag_error(const std::string& stack);
// Throws for a failed H5Fopen of an existing HDF5 file: archive_error for a lock held elsewhere or
// unsupported locking (with the HDF5_USE_FILE_LOCKING hint), input_error (corrupt) otherwise.
// An errno the open failed with (permission, I/O) names that in one line instead, archive_error.
[[noreturn]] void open_failed(const std::string& path, const std::string& stack);

// One line for a file that cannot be read: "permission denied: PATH", "I/O error: PATH", else
// strerror's words (issue 11: never "corrupt" for a file we may not read).
std::string read_error_text(int err, const std::string& path);

// Opens `path` for reading once, before HDF5 looks at it: HDF5 turns an open that fails with
// EACCES into "not an HDF5 file". Throws archive_error (read_error_text) if the open fails for
// any reason but a missing file or folder (the caller's "no such archive" says that).
void check_readable(const std::string& path);

}  // namespace mpisweep::archive::fmt
