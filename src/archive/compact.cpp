// Writer::Impl::compact: the archive written afresh at close when SWMR left much dead space.
#include "writer_impl.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace mpisweep::archive {

namespace fs = std::filesystem;

namespace {

// Test only (tests/fault/test_compaction.py): MPISWEEP_TEST_COMPACT_PAUSE=SECONDS compacts at
// every close and waits that long with the copy made and not yet renamed, so a test can start a
// second run inside that window. Read here and nowhere else; negative when unset.
double test_pause() {
  static const double pause = [] {
    const char* v = std::getenv("MPISWEEP_TEST_COMPACT_PAUSE");
    return v ? std::atof(v) : -1.0;
  }();
  return pause;
}

}  // namespace

bool compaction_wanted(hsize_t file_size, hsize_t live_size) {
  return test_pause() >= 0 || file_size > 2 * live_size + (std::uint64_t{1} << 20);
}

// Writes the whole archive afresh under a temporary name from the in-memory rows (plus the series
// values, /runs and /sweep read from the old file), then renames it over the old one. A kill
// meanwhile leaves the old file intact.
//
// Called with the live lock still held on the old file (issue 11 item 13): a second run cannot
// open it and write rows the rename would then throw away. The copy is locked too before it takes
// the archive's name, so a run that opens the new file is refused as well; both locks go once the
// rename is done. A disk that fills meanwhile only costs the compaction: the
// copy is removed and the archive, complete and closed, stays as it is.
void Writer::Impl::compact() {
  // The copy goes beside the file itself and replaces it, so a symlinked archive path stays a
  // symlink to the (compacted) file.
  std::error_code ec;
  fs::path target = fs::canonical(path, ec);
  if (ec) target = path;
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".compact." + std::to_string(getpid()));
  fs::remove(tmp, ec);
  LiveLock copy_lock;
  try {
    h5::PropList old_fapl = h5::file_access(true);
    std::string stack;
    h5::File old = h5::open_file(target.string(), H5F_ACC_RDONLY, old_fapl.id(), stack);
    if (!old) fmt::open_failed(path, stack);
    h5::PropList fapl = h5::file_access(true, io);
    Origin origin;
    origin.created = h5::get_attr_string(old.id(), "created");
    origin.mpisweep_version = h5::get_attr_string(old.id(), "mpisweep_version");
    Layout kept = layout;
    {
      h5::Group sweep = h5::open_group(old.id(), "sweep");
      kept.spec_toml = h5::read_scalar_string(sweep.id(), "spec_toml");
      kept.command_line = h5::read_scalar_string(sweep.id(), "command_line");
      kept.spec_hash = h5::get_attr_uint(sweep.id(), "spec_hash");
    }
    file = h5::File(h5::check(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()),
                              "create archive " + tmp.string()));
    create_structure(file.id(), kept, store, &origin);
    closed = false;
    attach();
    // /runs rows, read from the old file.
    std::vector<h5::Dataset> new_runs = std::move(run_ds);
    run_ds = fmt::open_run_columns(old.id());
    std::vector<RunRecord> runs;
    for (std::size_t r = 0; r < run_count; ++r) runs.push_back(read_run(r));
    run_ds = std::move(new_runs);
    for (std::size_t r = 0; r < runs.size(); ++r) write_run(r, runs[r]);
    // Series values: their chunks copied as stored (nothing decoded), so offsets stay valid.
    // (series_files: the virtual datasets map the block files; nothing to copy.)
    for (std::size_t k = 0; k < store.series.size() && layout.series_files.empty(); ++k) {
      h5::Dataset from = h5::open_dataset(old.id(), "series/" + layout.series[k].name + "/values");
      const hsize_t total = static_cast<hsize_t>(store.series[k].total);
      h5::set_extent(values[k].id(), total);
      copy_series_chunks(from.id(), values[k].id(), total, store.series[k].chunk);
    }
    store.mark_all();
    disk_rows = 0;
    flush();
    release();
    closed = true;
    file.close("close compacted archive " + tmp.string());
    old.close("close archive " + path);
    check_io();
    if (!copy_lock.acquire(tmp.string()))
      throw internal_error("archive: the compacted copy is locked by another process");
    if (test_pause() > 0) std::this_thread::sleep_for(std::chrono::duration<double>(test_pause()));
    fs::rename(tmp, target);
  } catch (...) {
    release();
    file.reset();
    closed = true;
    fs::remove(tmp, ec);
    if (io.error) return;  // the disk filled: keep the uncompacted archive (above)
    throw;
  }
}

}  // namespace mpisweep::archive
