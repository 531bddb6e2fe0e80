// The archive writer (master only): open or create, record, flush, close. The rows live in a
// RowStore (row_store.hpp), the columns are described once (columns.hpp), the file's structure
// is made and checked in structure.cpp, the live-writer lock is live_lock.cpp, reopening after a
// kill is recovery.cpp and the rewrite at close is compact.cpp.
//
// flush() is two-phase for crash safety: (1) series values, then every column except id and
// status, H5Fflush; (2) id and status, H5Fflush. A row whose status says done therefore has its
// metrics on disk, and a row whose id is set has its params on disk. A kill between phases leaves
// rows with id 0 (the fill value) at the end; open() cuts the table at the first such row.
#include "columns.hpp"
#include "recovery.hpp"
#include "writer_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <limits>

namespace mpisweep::archive {

namespace fs = std::filesystem;

Writer::Impl::Impl(std::string p, const Layout& l)
    : path(std::move(p)), layout(l), store(l, fmt::task_chunk) {}

void Writer::Impl::check_open() const {
  if (closed) throw internal_error("archive: writer used after close()");
}

void throw_write_failure(int err, const std::string& path) {
  std::string msg = h5::io_error_text(err, path);
  // Nothing after the failed write reached the file (fail_stop.cpp), so it is what a kill -9
  // would leave: every result flushed before is there and `run` resumes from it.
  if (err == ENOSPC || err == EDQUOT)
    msg += "; results written before are kept: make room and run again to resume";
  throw archive_error(msg);
}

void Writer::Impl::check_io() const {
  if (io.error != 0) throw_write_failure(io.error, path);
}

void Writer::Impl::sync() {
  h5::check(H5Fflush(file.id(), H5F_SCOPE_LOCAL), "H5Fflush");
  check_io();
}

void Writer::Impl::open_swmr() {
  h5::PropList fapl = h5::file_access(true, io);
  std::string stack;
  file = h5::open_file(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl.id(), stack);
  if (!file) {
    if (io.open_error) throw archive_error(h5::io_error_text(io.open_error, path));
    fmt::open_failed(path, stack);
  }
  if (!live.acquire(path))
    throw archive_error(path + ": another mpisweep process is writing this archive");
  attach();
}

void Writer::Impl::load() {
  const hid_t f = file.id();
  // Choice columns are as wide as the file says (a compacted or older file may differ).
  take_file_widths(f, store);
  columns = file_columns(f, store);
  // The rows: up to the first id 0 (a kill between the flush phases), and no more than every
  // column holds (a kill while extending).
  hsize_t n = 0;
  {
    h5::Dataset id = h5::open_dataset(f, "tasks/id");
    n = h5::extent(id.id());
    std::vector<std::uint64_t> ids(n);
    h5::read_rows(id.id(), H5T_NATIVE_UINT64, 0, n, ids.data());
    n = static_cast<hsize_t>(std::find(ids.begin(), ids.end(), 0) - ids.begin());
  }
  std::vector<h5::Dataset> open;
  for (const auto& c : columns) {
    open.push_back(h5::open_dataset(f, c.path));
    n = std::min(n, h5::extent(open.back().id()));
  }
  store.resize(n);
  for (std::size_t k = 0; k < columns.size(); ++k) {
    if (h5::extent(open[k].id()) != n) h5::set_extent(open[k].id(), n);
    read_column(open[k].id(), columns[k], store, n, scratch);
  }
  store.clear_progress();  // a killed run's tasks are not running any more
  for (std::size_t k = 0; k < store.series.size(); ++k) {
    h5::Dataset v = h5::open_dataset(f, "series/" + layout.series[k].name + "/values");
    store.series[k].resume_at(static_cast<std::int64_t>(h5::extent(v.id())));
  }
  // /runs: cut to the shortest column (a kill while appending a run row).
  hsize_t runs = std::numeric_limits<hsize_t>::max();
  std::vector<h5::Dataset> rds = fmt::open_run_columns(f);
  for (const auto& d : rds)
    if (d) runs = std::min(runs, h5::extent(d.id()));
  for (auto& d : rds)
    if (d && h5::extent(d.id()) != runs) h5::set_extent(d.id(), runs);
  run_count = runs;
  disk_rows = n;
}

void Writer::Impl::attach() {
  const hid_t f = file.id();
  columns = file_columns(f, store);
  datasets.clear();
  extents.clear();
  for (const auto& c : columns) {
    datasets.push_back(h5::open_dataset(f, c.path));
    extents.push_back(h5::extent(datasets.back().id()));
  }
  values.clear();
  for (const auto& s : layout.series)
    values.push_back(h5::open_dataset(f, "series/" + s.name + "/values"));
  run_ds = fmt::open_run_columns(f);  // an older archive may lack the optional columns
  run_types.clear();
  for (const auto& c : fmt::run_columns()) run_types.push_back(c.mem_type());
}

void Writer::Impl::write_phase(bool phase2, hsize_t n) {
  for (std::size_t k = 0; k < columns.size(); ++k)
    if (columns[k].phase2 == phase2 && extents[k] != n) {
      h5::set_extent(datasets[k].id(), n);
      extents[k] = n;
    }
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const auto& c = columns[k];
    if (c.phase2 != phase2) continue;
    const std::size_t elem = c.elem_size(), block = block_rows(elem);
    for (const auto& [first, count] : store.dirty_ranges(c.dirty, n)) {
      for (std::size_t b = first; b < first + count; b += block) {
        const std::size_t m = std::min(block, first + count - b);
        scratch.resize(m * elem);
        c.gather(store, b, m, scratch.data());
        h5::write_rows(datasets[k].id(), c.type.id(), b, m, scratch.data());
      }
    }
  }
}

void Writer::Impl::flush() {
  check_open();
  check_io();   // after a failed write nothing more is written: the file stays as it was then
  h5::quiet();  // per thread in this (thread-safe) HDF5 build: the caller's thread may be new
  if (!store.any_dirty() && !store.has_pending_values() && disk_rows == store.size()) return;
  write_values();
  const hsize_t n = store.size();
  write_phase(false, n);
  sync();
  write_phase(true, n);
  sync();
  store.clear_dirty();
  disk_rows = n;
}

void Writer::Impl::write_values() {
  check_io();
  // Series: long arrays' chunks as the workers encoded them, copied into the file and never
  // decoded here; runs of short arrays packed back to back, through HDF5's filters. The extent
  // ends at the last array's last value.
  for (std::size_t k = 0; k < store.series.size(); ++k) {
    auto& s = store.series[k];
    if (s.pending.empty()) continue;
    const auto& last = s.pending.back();
    const std::int64_t total =
        std::max(s.total, last.offset + (last.chunks ? last.chunks->length : last.count));
    h5::set_extent(values[k].id(), static_cast<hsize_t>(total));
    for (std::size_t i = 0; i < s.pending.size();) {
      const auto& p = s.pending[i];
      if (p.chunks) {
        write_series_chunks(values[k].id(), p.offset, *p.chunks);
        ++i;
        continue;
      }
      std::int64_t count = p.count;
      for (++i;
           i < s.pending.size() && !s.pending[i].chunks && s.pending[i].offset == p.offset + count;
           ++i)
        count += s.pending[i].count;
      h5::write_rows(values[k].id(), H5T_NATIVE_DOUBLE, static_cast<hsize_t>(p.offset),
                     static_cast<hsize_t>(count), s.raw.data() + p.raw_first);
    }
    s.total = total;
    s.pending.clear();
    s.raw.clear();
  }
  unwritten_bytes = 0;
}

void Writer::Impl::write_run(std::size_t row, const RunRecord& r) {
  h5::quiet();
  check_io();
  const auto& cols = fmt::run_columns();
  std::vector<unsigned char> buf;
  for (std::size_t k = 0; k < cols.size(); ++k) {
    if (!run_ds[k]) continue;
    buf.assign(cols[k].elem_size(), 0);
    cols[k].get(r, buf.data());
    if (h5::extent(run_ds[k].id()) < row + 1) h5::set_extent(run_ds[k].id(), row + 1);
    h5::write_rows(run_ds[k].id(), run_types[k].id(), row, 1, buf.data());
  }
  sync();
}

RunRecord Writer::Impl::read_run(std::size_t row) {
  h5::quiet();
  const auto& cols = fmt::run_columns();
  RunRecord r;
  std::vector<unsigned char> buf;
  for (std::size_t k = 0; k < cols.size(); ++k) {
    if (!run_ds[k]) continue;
    buf.assign(cols[k].elem_size(), 0);
    h5::read_rows(run_ds[k].id(), run_types[k].id(), row, 1, buf.data());
    cols[k].set(r, buf.data());
  }
  return r;
}

void Writer::Impl::release() {
  datasets.clear();
  extents.clear();
  values.clear();
  run_ds.clear();
}

// Bytes the datasets use; the rest of the file is space SWMR never reuses (below).
hsize_t Writer::Impl::live_bytes() const {
  hsize_t bytes = 0;
  for (const auto& d : datasets) bytes += h5::storage_size(d.id());
  for (const auto& d : values) bytes += h5::storage_size(d.id());
  for (const auto& d : run_ds)
    if (d) bytes += h5::storage_size(d.id());
  return bytes;
}

void Writer::Impl::close() {
  if (closed) return;
  h5::quiet();
  // Every handle is closed whatever failed, datasets before the file; the first failure is
  // reported once they are.
  std::exception_ptr failure;
  hsize_t file_size = 0, live_size = 0;
  try {
    flush();
    h5::check(H5Fget_filesize(file.id(), &file_size), "H5Fget_filesize");
    live_size = live_bytes();
  } catch (...) {
    failure = std::current_exception();
  }
  release();
  closed = true;
  try {
    file.close("close archive " + path);
    check_io();  // the close's own writes (superblock, flags)
  } catch (...) {
    if (!failure) failure = std::current_exception();
  }
  // In SWMR mode HDF5 1.10 never reuses freed file space (a reader may still be reading it), so
  // every rewrite of a compressed chunk leaks its old copy: a slow sweep flushing every second
  // grows the file by a few KB a flush. Once the run ends, rewrite the file compactly. The live
  // lock is held until the copy is in place (compact()), so no second run can write to the file
  // that the copy replaces.
  if (!failure && compaction_wanted(file_size, live_size)) {
    try {
      compact();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  live.release();
  if (failure) std::rethrow_exception(failure);
}

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    if (impl_ && !impl_->closed) {
      try {
        impl_->close();
      } catch (...) {
      }
    }
    impl_ = std::move(o.impl_);
  }
  return *this;
}
Writer::~Writer() {
  if (impl_ && !impl_->closed) {
    try {
      impl_->close();
    } catch (...) {
      // Destructors never throw; the rows of the last flush are on disk and the flags are
      // cleared by the next open.
    }
  }
}

namespace {

// Errors of the environment (exit 3, in the user's words) rather than of the path given (exit 2).
bool environment_errno(int e) {
  return e == ENOSPC || e == EDQUOT || e == EROFS || e == EACCES || e == EPERM || e == EIO;
}

}  // namespace

Writer Writer::create(const std::string& path, const Layout& layout,
                      const std::function<void(Writer&)>& fill) {
  h5::quiet();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)))
    throw input_error(path,
                      "archive already exists (move or delete it, or resume without --fresh)");
  if (!layout.series_files.empty() && !layout.series.empty()) {
    // An earlier sweep's block files would be mapped into this archive's values.
    const fs::path folder = fs::path(path).parent_path() / layout.series_files;
    if (fs::exists(folder, ec) && !fs::is_empty(folder, ec))
      throw input_error(path, "the block files of an earlier sweep are in " + folder.string() +
                                  " (the archive is gone): move or delete that folder first");
  }
  fs::path target(path);
  // The outermost folder this call creates: a failed creation removes what it made (empty
  // folders only, so nothing another process put there meanwhile).
  fs::path made;
  for (fs::path p = target.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path())
    made = p;
  auto unmake = [&] {
    if (made.empty()) return;
    for (fs::path p = target.parent_path(); !p.empty(); p = p.parent_path()) {
      fs::remove(p, ec);  // fails, harmlessly, on a folder that is missing or not empty
      if (p == made) break;
    }
  };
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      const std::error_code failed = ec;
      unmake();
      if (environment_errno(failed.value()))
        throw archive_error(h5::io_error_text(failed.value(), target.parent_path().string()));
      throw input_error(path, "cannot create folder: " + failed.message());
    }
  }
  auto impl = std::make_unique<Impl>(path, layout);
  // Same folder, so the rename is atomic; a kill during creation leaves only this name behind,
  // and a failure (disk full) removes it: the archive appears complete or not at all.
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".creating." + std::to_string(getpid()));
  fs::remove(tmp, ec);
  try {
    h5::PropList fapl = h5::file_access(true, impl->io);
    h5::File f(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()));
    if (!f) {
      const std::string stack = h5::take_error_stack();
      if (impl->io.open_error) throw archive_error(h5::io_error_text(impl->io.open_error, path));
      throw archive_error("create archive " + path + ": " + stack);
    }
    create_structure(f.id(), layout, impl->store);
    impl->file = std::move(f);
    if (fill) {
      // The rows go through the one flush() every later write takes, into the temporary file.
      impl->attach();
      Writer w(std::move(impl));
      try {
        fill(w);
      } catch (...) {
        impl = std::move(w.impl_);  // not w's destructor: it would flush into the file
        throw;
      }
      impl = std::move(w.impl_);
      try {
        impl->flush();
      } catch (const archive_error&) {
        if (!impl->io.error) throw;  // a full disk is said below, as for the structure
      }
      impl->release();
    }
    impl->file.close("close new archive " + tmp.string());
    if (impl->io.error)
      throw archive_error(h5::io_error_text(impl->io.error, path) + " (nothing was created)");
    // link() refuses to replace an existing file, so two runs racing to create cannot clobber.
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      fs::remove(tmp, ec);
    } else if (errno == EEXIST) {
      fs::remove(tmp, ec);
      throw input_error(path, "archive already exists");
    } else {
      fs::rename(tmp, target);  // file systems without hard links
    }
  } catch (...) {
    if (impl) {
      impl->release();
      impl->file.reset();
    }
    fs::remove(tmp, ec);
    unmake();
    throw;
  }
  impl->open_swmr();
  impl->check_series_files();
  return Writer(std::move(impl));
}

namespace {

// Rewrites string columns another tool replaced (normalize.cpp) with the file open read-write
// without SWMR, as only then may datasets be created; the killed writer's flags are cleared first.
void normalize_strings(const std::string& path, const Layout& layout) {
  LiveLock guard;
  if (!guard.acquire(path))
    throw archive_error(path + ": another mpisweep process is writing this archive");
  h5::IoStatus io;
  open_for_writing(path, io).close("close archive " + path);
  h5::PropList fapl = h5::file_access(true, io);
  std::string stack;
  h5::File f = h5::open_file(path, H5F_ACC_RDWR, fapl.id(), stack);
  if (!f) fmt::open_failed(path, stack);
  normalize_string_columns(f.id(), layout);
  f.close("close archive " + path);
  // The fail-stop driver drops writes after the first failure: say so instead of going on.
  if (io.error) throw archive_error(h5::io_error_text(io.error, path));
}

}  // namespace

Writer Writer::open(const std::string& path, const Layout& layout) {
  h5::quiet();
  fmt::check_readable(path);  // before HDF5 calls EACCES "not an HDF5 file"
  std::error_code ec;
  if (!fs::exists(path, ec)) throw input_error(path, "no such archive");
  if (!h5::is_hdf5(path)) throw input_error(path, "not an HDF5 file (so not an mpisweep archive)");
  // The status flags are set while a writer is alive too: only a dead writer's may be cleared.
  if (LiveLock::held_elsewhere(path))
    throw archive_error(path +
                        ": another mpisweep process is writing this archive (wait for it "
                        "to finish or stop it first)");
  bool foreign = false;      // string columns h5py rewrote: back to the writer's form first
  std::string series_files;  // where the block files are, as the archive's mapping says
  Layout adopted = layout;   // each series in the chunks its archive has
  {
    // Exit 2 leaves every byte as it was (issue 11 item 3): check on a read-only open before
    // open_for_writing clears a killed writer's status flags.
    h5::File peek = open_for_reading(path);
    validate(peek.id(), path, layout);
    check_tables(peek.id(), path, last_run_ended(peek.id()));
    foreign = foreign_string_columns(peek.id(), layout);
    for (auto& s : adopted.series) {
      h5::Dataset v = h5::open_dataset(peek.id(), "series/" + s.name + "/values");
      if (check_series_mode(v.id(), s, path, layout))
        series_files = series_folder_name(v.id());  // whatever the archive is called now
      else
        s.chunk = check_series_values(v.id(), s, path);
    }
  }
  if (foreign) normalize_strings(path, adopted);
  auto impl = std::make_unique<Impl>(path, adopted);
  impl->layout.series_files = series_files;
  impl->file = open_for_writing(path, impl->io);
  if (!impl->live.acquire(path))
    throw archive_error(path + ": another mpisweep process is writing this archive");
  validate(impl->file.id(), path, adopted);
  impl->load();
  impl->attach();
  impl->check_series_files();
  return Writer(std::move(impl));
}

const std::vector<RowState>& Writer::rows() const { return impl_->store.rows; }
const Layout& Writer::layout() const { return impl_->layout; }

std::size_t Writer::add_tasks(std::span<const TaskRecord> tasks) {
  impl_->check_open();
  return impl_->store.add(tasks);
}

void Writer::reserve_tasks(std::size_t rows) { impl_->store.reserve(rows); }

void Writer::record(std::size_t row, const Outcome& o) {
  impl_->check_open();
  // series_files: the values dataset is virtual; only workers' block files take values.
  if (!impl_->layout.series_files.empty() &&
      (std::any_of(o.series.begin(), o.series.end(), [](auto& v) { return !v.empty(); }) ||
       std::any_of(o.encoded.begin(), o.encoded.end(), [](auto& e) { return e != nullptr; })))
    throw internal_error("archive: series values recorded into a series_files archive");
  impl_->store.record(row, o);
  for (const auto& e : o.encoded)
    if (e) impl_->unwritten_bytes += e->stored_bytes();
  if (impl_->unwritten_bytes >= Impl::values_write_bytes) {
    h5::quiet();
    impl_->write_values();
  }
}

void Writer::progress(std::size_t row, double fraction) {
  impl_->check_open();
  impl_->store.set_progress(row, static_cast<float>(fraction));
}

void Writer::flush() { impl_->flush(); }

std::size_t Writer::begin_run(const RunRecord& run) {
  auto& m = *impl_;
  m.check_open();
  std::size_t row = m.run_count++;
  m.write_run(row, run);
  return row;
}

void Writer::end_run(std::size_t run, double end, std::int32_t exit_status) {
  auto& m = *impl_;
  m.check_open();
  if (run >= m.run_count) throw internal_error("archive: end_run() of a run that does not exist");
  RunRecord r = m.read_run(run);
  r.end = end;
  r.exit_status = exit_status;
  m.write_run(run, r);
}

std::int64_t Writer::series_first_block() const { return impl_->next_block; }
std::int64_t Writer::series_block_elements() const { return impl_->block_elements; }

std::string Writer::series_folder() const {
  const auto& m = *impl_;
  if (m.layout.series_files.empty() || m.layout.series.empty()) return {};
  return (fs::path(m.path).parent_path() / m.layout.series_files).string();
}

void Writer::close() {
  if (impl_) impl_->close();
}

}  // namespace mpisweep::archive
