#pragma once
// The writer's state, shared by writer.cpp (open, create, flush, close) and compact.cpp.
#include "columns.hpp"
#include "live_lock.hpp"
#include "structure.hpp"

#include <string>
#include <vector>

namespace mpisweep::archive {

// True when the file is worth rewriting at close (compact.cpp).
bool compaction_wanted(hsize_t file_size, hsize_t live_size);

struct Writer::Impl {
  std::string path;
  Layout layout;
  h5::IoStatus io;  // the fail-stop driver's record of a failed write; outlives `file`
  h5::File file;
  RowStore store;
  std::vector<ColumnDef> columns;     // task_columns(store)
  std::vector<h5::Dataset> datasets;  // one per column, opened by attach()
  std::vector<hsize_t> extents;       // their lengths on disk
  std::vector<h5::Dataset> values;    // /series/<name>/values, one per series
  std::size_t run_count = 0;
  std::vector<h5::Dataset> run_ds;
  std::vector<h5::Datatype> run_types;
  hsize_t disk_rows = 0;
  std::vector<unsigned char> scratch;
  bool closed = false;
  LiveLock live;
  // series_files (series_files.hpp): the first block index the next run may use; -1 otherwise.
  std::int64_t next_block = -1;
  std::int64_t block_elements = 0;  // series_files: elements of values per block file

  Impl(std::string p, const Layout& l);
  void check_open() const;
  // Throws the one-line message of a failed write (disk full...) once the driver recorded one.
  void check_io() const;
  void open_swmr();  // a freshly created file: SWMR writing, live lock, attach
  void load();       // an existing file: rows into the store, torn tail cut
  void attach();     // opens every dataset of the (SWMR) file
  void flush();
  // Writes the series values recorded since the last write (chunks as encoded, short arrays
  // through the filters) without flushing the file; rows follow at the next flush().
  void write_values();
  // Bytes of encoded chunks recorded and not yet written: past values_write_bytes, record()
  // writes them at once, so the master holds (and pins the messages of) at most that much
  // between flushes rather than a whole tick's worth, and the messages' buffers are reused.
  std::uint64_t unwritten_bytes = 0;
  static constexpr std::uint64_t values_write_bytes = std::uint64_t{32} << 20;
  void sync();  // H5Fflush, then check_io
  void write_phase(bool phase2, hsize_t n);
  void write_run(std::size_t row, const RunRecord& r);
  RunRecord read_run(std::size_t row);
  void release();
  hsize_t live_bytes() const;
  void close();
  void compact();  // compact.cpp
  // series_files: prepares the block files and sends back to pending every done row whose
  // values are not all in them (a block file deleted, or cut short). series_files.cpp.
  void check_series_files();
};

// A failed write (errno `err`) to `path`, as the one line the user sees; for a full disk or
// quota it adds that the results written before are kept and a rerun resumes.
[[noreturn]] void throw_write_failure(int err, const std::string& path);

}  // namespace mpisweep::archive
