#pragma once
// Private RAII layer over the HDF5 C API (style.md §4). Only src/archive includes this (and
// hdf5.h). Every C call goes through h5::check, which throws archive_error carrying HDF5's own
// error stack; handles are move-only and their destructors never throw.
//
// HDF5's automatic error printing is switched off (h5::quiet) before any call: CI fails a test
// whose output contains "HDF5-DIAG", and every failure is reported through the exception anyway.
#include <mpisweep/archive/archive.hpp>

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpisweep::archive::h5 {

// Turns off HDF5's automatic stack printing for the default stack. Idempotent, cheap. Debian's
// HDF5 is built thread-safe, which makes this setting per thread: every public entry point that
// calls HDF5 calls it first, so a Writer created on one thread and flushed on another stays quiet.
void quiet();

// The current HDF5 error stack as one line ("innermost description; ...; outermost"), then clears
// the stack. Empty when the stack is empty.
std::string take_error_stack();

[[noreturn]] void fail(std::string_view what);

// One checked wrapper for every C call: HDF5 returns a negative value (herr_t, hid_t, htri_t,
// hssize_t) on failure.
template <class T>
inline T check(T result, std::string_view what) {
  if (result < 0) fail(what);
  return result;
}

// A move-only owner of an hid_t, closed by `Close` (errors ignored: destructors never throw).
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t id() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset() noexcept {
    if (id_ >= 0) {
      if (Close(id_) < 0) H5Eclear2(H5E_DEFAULT);
      id_ = H5I_INVALID_HID;
    }
  }
  // Closes and reports failure (for the file, where a failed close means lost data).
  void close(std::string_view what) {
    if (id_ >= 0) check(Close(std::exchange(id_, H5I_INVALID_HID)), what);
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;

// H5Fopen that waits out another process's HDF5 file lock. A program that opened the archive
// without SWMR (h5py's File(path) by default, h5dump, HDFView) holds a shared flock for as long
// as it has the file open, and any open meeting it fails at once with EAGAIN; so does a reader
// meeting a writer's exclusive lock during the writer's own open. Such a failure is retried for
// up to lock_wait_seconds; any other fails at once. On failure the File is empty and `stack`
// holds the last attempt's error stack (what fmt::open_failed turns into one line).
inline constexpr double lock_wait_seconds = 5.0;
File open_file(const std::string& path, unsigned flags, hid_t fapl, std::string& stack);
// Whether an error stack is an open refused by a lock another process holds (not a file system
// without locking, which fails the same call with another errno).
bool is_lock_conflict(const std::string& stack);
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using PropList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;
using Object = Handle<H5Oclose>;  // a group or dataset opened by name (H5Oopen)

// ---- types ----
Datatype copy_type(hid_t t);
Datatype string_type(std::size_t size);  // fixed length (incl. terminator), UTF-8
Datatype status_type();                  // enum over int8: pending/done/failed/timeout
Datatype bool_type();                    // enum over int8: FALSE=0, TRUE=1 (h5py: bool)
std::size_t type_size(hid_t type);       // bytes of one element

// ---- files ----
PropList file_access(bool latest);      // sec2, libver bounds latest when `latest`
bool is_hdf5(const std::string& path);  // false for missing or foreign files

// ---- the fail-stop file driver (fail_stop.cpp), for everything the writer opens ----
// `error`: the errno of the first write that failed on a file opened with
// file_access(latest, status); 0 while none did. After a failed write nothing more reaches that
// file, and HDF5 is told every later write succeeded: the file holds what a kill -9 at that
// moment would leave, and closing it cannot fail on the full disk. `open_error`: the errno of the
// last open attempt (0 if it succeeded), for an H5Fopen or H5Fcreate that failed.
struct IoStatus {
  int error = 0;
  int open_error = 0;
};
PropList file_access(bool latest, IoStatus& status);

// An errno met writing `path` in the user's words: "disk full writing results/x.h5",
// "read-only file system: results/x.h5".
std::string io_error_text(int err, const std::string& path);

// ---- groups ----
Group create_group(hid_t loc, const std::string& name, bool track_order);
Group open_group(hid_t loc, const std::string& name);
bool exists(hid_t loc, const std::string& name);
// Link names of a group, in creation order when tracked, else by name.
std::vector<std::string> children(hid_t group);

// ---- datasets ----
// The filters of a column's chunks, all zlib level 1 (the cheapest that still shrinks): shuffle
// first groups byte k of every element, so numbers that differ only in their low bytes (ids,
// seeds, times) leave deflate long runs. Readers undo any of them without being told.
enum class Filter { none, deflate, shuffle_deflate };
// What a column gets when nobody chose: shuffle + deflate for numbers wider than a byte, deflate
// for the rest (for strings, bytes of similar weight are adjacent already).
Filter default_filter(hid_t type);
// HDF5's filter ids of `f`, in pipeline order (what H5Pget_filter2 reports of a dataset).
std::vector<H5Z_filter_t> filter_ids(Filter f);
// A 1-D chunked, unlimited dataset of `type` with `filter`, initially empty; `fill` (may be null)
// is the fill value in `type`'s memory form.
Dataset create_column(hid_t loc, const std::string& name, hid_t type, hsize_t chunk,
                      const void* fill, Filter filter);
inline Dataset create_column(hid_t loc, const std::string& name, hid_t type, hsize_t chunk,
                             const void* fill) {
  return create_column(loc, name, type, chunk, fill, default_filter(type));
}
Dataset create_scalar(hid_t loc, const std::string& name, hid_t type, const void* value);
Dataset open_dataset(hid_t loc, const std::string& name);
hsize_t extent(hid_t dataset);  // 1-D length
void set_extent(hid_t dataset, hsize_t n);
// Writes `count` elements of `mem_type` from `data` to rows [first, first+count).
void write_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, const void* data);
void read_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, void* data);
Datatype dataset_type(hid_t dataset);
hsize_t storage_size(hid_t dataset);  // bytes allocated in the file (0 if none)
Object open_object(hid_t loc, const std::string& name);

// ---- attributes (fixed-length strings and scalars) ----
void set_attr(hid_t obj, const std::string& name, const std::string& value);
void set_attr(hid_t obj, const std::string& name, std::int64_t value);
void set_attr(hid_t obj, const std::string& name, std::uint64_t value);
void set_attr(hid_t obj, const std::string& name, double value);
void set_attr(hid_t obj, const std::string& name, std::span<const std::int64_t> values);  // 1-D
bool has_attr(hid_t obj, const std::string& name);
std::string get_attr_string(hid_t obj, const std::string& name);  // "" when absent
std::int64_t get_attr_int(hid_t obj, const std::string& name);
std::uint64_t get_attr_uint(hid_t obj, const std::string& name);
double get_attr_double(hid_t obj, const std::string& name, double absent);
std::vector<std::int64_t> get_attr_ints(hid_t obj, const std::string& name);  // {} when absent

// Reads a scalar fixed-length string dataset.
std::string read_scalar_string(hid_t loc, const std::string& name);

// Rows [first, first+count) of a 1-D string dataset in any form HDF5 allows (fixed or variable
// length, any padding and character set: what h5py writes for str and np.bytes_) into `out`,
// `size` bytes each in our fixed form (pack_string).
void read_string_rows(hid_t dataset, hsize_t first, hsize_t count, std::size_t size, char* out);
// The same rows handed to `take(i, text)` one by one.
void read_string_rows(hid_t dataset, hsize_t first, hsize_t count,
                      const std::function<void(std::size_t, std::string_view)>& take);
// Whether a 1-D dataset can grow (chunked, unlimited): what the writer needs of every column.
bool extendible(hid_t dataset);
// The bytes our fixed form (null-terminated) needs for every value of string type `type`: its
// size, plus one unless it is null-terminated already; 0 for variable length (no bound).
std::size_t string_width(hid_t type);
// Whether `type` is the form string_type() makes: fixed length, null-terminated, UTF-8.
bool is_our_string(hid_t type);

// Fixed-length strings <-> std::string: at most size-1 bytes (cut at a UTF-8 boundary), the rest
// zero, so the terminator always fits.
void pack_string(std::string_view s, char* out, std::size_t size);
std::string unpack_string(const char* in, std::size_t size);

}  // namespace mpisweep::archive::h5
