// Writer::Impl::compact: the archive written afresh at close when SWMR left much dead space.
#include "writer_impl.hpp"

#include <unistd.h>

#include <filesystem>

namespace mpisweep::archive {

namespace fs = std::filesystem;

// Writes the whole archive afresh under a temporary name from the in-memory rows (plus the series
// values, /runs and /sweep read from the old file), then renames it over the old one. A kill
// meanwhile leaves the old file intact.
void Writer::Impl::compact() {
  fs::path target(path);
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".compact." + std::to_string(getpid()));
  std::error_code ec;
  fs::remove(tmp, ec);
  try {
    h5::PropList fapl = h5::file_access(true);
    h5::File old(
        h5::check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id()), "open archive " + path));
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
    run_ds.clear();
    for (const auto& c : fmt::run_columns())
      run_ds.push_back(h5::open_dataset(old.id(), std::string("runs/") + c.name));
    std::vector<RunRecord> runs;
    for (std::size_t r = 0; r < run_count; ++r) runs.push_back(read_run(r));
    run_ds = std::move(new_runs);
    for (std::size_t r = 0; r < runs.size(); ++r) write_run(r, runs[r]);
    // Series values: their chunks copied as stored (nothing decoded), so offsets stay valid.
    for (std::size_t k = 0; k < store.series.size(); ++k) {
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
    fs::rename(tmp, target);
  } catch (...) {
    release();
    file.reset();
    closed = true;
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace mpisweep::archive
