// Block files of series_files = "per_rank" (series_files.hpp): made by workers and, for gaps, by
// the master; written by one worker rank each under SWMR.
#include <mpisweep/archive/series_files.hpp>

#include "columns.hpp"
#include "recovery.hpp"
#include "writer_impl.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

namespace mpisweep::archive::series_files {

namespace fs = std::filesystem;

std::string folder_name_of(const std::string& archive_path) {
  return fs::path(archive_path).filename().string() + ".series";
}

std::string folder_of(const std::string& archive_path) {
  return (fs::path(archive_path).parent_path() / folder_name_of(archive_path)).string();
}

std::int64_t block_elements_for_new_archive() {
  const char* v = std::getenv("MPISWEEP_TEST_SERIES_BLOCK");
  const long long n = v && *v ? std::atoll(v) : 0;
  return n > 0 ? n : default_block_elements;
}

std::string block_path(const std::string& folder, std::int64_t block) {
  return (fs::path(folder) / ("block-" + std::to_string(block) + ".h5")).string();
}

namespace {

// A write to a block file that failed (disk full, quota, I/O error), as one line naming it.
void check_io(const h5::IoStatus& io, const std::string& path) {
  if (const int err = io.error != 0 ? io.error : io.open_error; err != 0)
    throw_write_failure(err, path);
}

// Makes block file `block` with an empty values dataset per series, unless it exists. Built
// under a temporary name and linked into place, so a reader or a second maker never sees half
// a file; link() fails on an existing name, so whoever comes second keeps the first one's file.
void make_block(const std::string& folder, std::int64_t block,
                const std::vector<SeriesSpec>& series) {
  const std::string path = block_path(folder, block);
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  // Ranks on several hosts may race for the same placeholder: the name is theirs alone.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string tmp = (fs::path(folder) / (".block-" + std::to_string(block) + ".h5." + host +
                                               "." + std::to_string(getpid()) + ".creating"))
                              .string();
  fs::remove(tmp, ec);
  // Through the fail-stop driver, as the archive: a full disk is one line naming the block file,
  // never HDF5's failed-close path (issue 11 item 5).
  h5::IoStatus io;
  try {
    h5::PropList fapl = h5::file_access(true, io);
    h5::File f(h5::check(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()),
                         "create series block file " + tmp));
    h5::Group g = h5::create_group(f.id(), "series", true);
    for (const auto& s : series) {
      h5::Group sg = h5::create_group(g.id(), s.name, true);
      create_series_values(sg.id(), s);
    }
    f.close("close series block file " + tmp);
  } catch (const error&) {
    fs::remove(tmp, ec);
    check_io(io, path);
    throw;
  }
  if (io.error != 0) fs::remove(tmp, ec);
  check_io(io, path);
  if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    const int err = errno;
    fs::remove(tmp, ec);
    throw archive_error(h5::io_error_text(err, path));
  }
  fs::remove(tmp, ec);
}

// Highest block index with a file in `folder`, -1 when none.
std::int64_t highest_block(const std::string& folder) {
  std::int64_t top = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("block-", 0) != 0 || name.size() < 10 || !name.ends_with(".h5")) continue;
    const std::string digits = name.substr(6, name.size() - 9);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    top = std::max<std::int64_t>(top, std::stoll(digits));
  }
  return top;
}

}  // namespace

std::int64_t prepare(const std::string& folder, const std::vector<SeriesSpec>& series) {
  h5::quiet();
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw archive_error(h5::io_error_text(ec.value(), folder));
  const std::int64_t top = highest_block(folder);
  for (std::int64_t k = 0; k <= top; ++k) {
    const std::string path = block_path(folder, k);
    if (!fs::exists(path, ec)) {
      make_block(folder, k, series);
      continue;
    }
    // A killed writer's status flags: cleared by the open (recovery.cpp), then closed cleanly.
    h5::IoStatus io;
    open_for_writing(path, io).close("close series block file " + path);
  }
  return top + 1;
}

std::vector<std::int64_t> stored_lengths(const std::string& folder, std::int64_t block,
                                         const std::vector<SeriesSpec>& series) {
  h5::quiet();
  const std::string path = block_path(folder, block);
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  std::vector<std::int64_t> out;
  try {
    h5::File f = open_for_reading(path);
    for (const auto& s : series) {
      const std::string name = "series/" + s.name + "/values";
      out.push_back(h5::exists(f.id(), name)
                        ? static_cast<std::int64_t>(h5::extent(h5::open_dataset(f.id(), name).id()))
                        : 0);
    }
  } catch (const error&) {
    return {};  // unreadable: its rows run again
  }
  return out;
}

struct BlockWriter::Impl {
  std::string folder;
  std::vector<SeriesSpec> series;
  std::vector<std::int64_t> chunk;  // elements per chunk, per series
  std::int64_t block = 0, stride = 1, block_elements = default_block_elements;
  h5::IoStatus io;  // the fail-stop driver's record of a failed write (h5.hpp)
  h5::File file;
  std::vector<h5::Dataset> values;
  std::vector<std::int64_t> used;  // per series: elements of the current file taken
  bool dirty = false;              // placed since the last flush
  std::mutex mutex;                // place() on the runner thread, flush() on the main thread

  void open() {
    // Every index below `block` must exist first (HDF5 stops at the first missing file); those
    // of other ranks that have not started yet get placeholders, which they then write into.
    for (std::int64_t k = block; k >= 0 && !fs::exists(block_path(folder, k)); --k)
      make_block(folder, k, series);
    const std::string path = block_path(folder, block);
    h5::PropList fapl = h5::file_access(true, io);
    try {
      std::string stack;
      file = h5::open_file(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl.id(), stack);
      if (!file) throw archive_error("open series block file " + path + ": " + stack);
    } catch (const error&) {
      check_io(io, path);
      throw;
    }
    values.clear();
    used.clear();
    for (const auto& s : series) {
      values.push_back(h5::open_dataset(file.id(), "series/" + s.name + "/values"));
      used.push_back(static_cast<std::int64_t>(h5::extent(values.back().id())));
    }
  }

  // The next array of series i starts at a chunk boundary, as in the archive.
  std::int64_t next(std::size_t i) const { return (used[i] + chunk[i] - 1) / chunk[i] * chunk[i]; }

  std::string too_long(const Outcome& o) const {
    for (std::size_t i = 0; i < series.size(); ++i)
      if (const std::int64_t n = length_of(o, i); n > block_elements)
        return "series '" + series[i].name + "': " + std::to_string(n) +
               " values; with series_files = \"per_rank\" one task's array holds at most " +
               std::to_string(block_elements);
    return {};
  }

  void roll_if_full(const Outcome& o) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      const std::int64_t n = length_of(o, i);
      if (n > 0 && next(i) + n > block_elements) {
        file.close("close series block file " + block_path(folder, block));
        check_io(io, block_path(folder, block));
        block += stride;
        open();
        return;
      }
    }
  }

  static std::int64_t length_of(const Outcome& o, std::size_t i) {
    if (i < o.encoded.size() && o.encoded[i]) return o.encoded[i]->length;
    return i < o.series.size() ? static_cast<std::int64_t>(o.series[i].size()) : 0;
  }
};

BlockWriter::BlockWriter(std::string folder, std::vector<SeriesSpec> series, std::int64_t first,
                         std::int64_t stride, std::int64_t block_elements)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.folder = std::move(folder);
  m.series = std::move(series);
  for (const auto& s : m.series) m.chunk.push_back(chunk_codec::chunk_elements(s));
  m.block = first;
  m.stride = std::max<std::int64_t>(1, stride);
  m.block_elements = block_elements;
}

BlockWriter::BlockWriter(BlockWriter&&) noexcept = default;
BlockWriter& BlockWriter::operator=(BlockWriter&&) noexcept = default;
BlockWriter::~BlockWriter() = default;

std::string BlockWriter::place(Outcome& o) {
  auto& m = *impl_;
  if (std::string why = m.too_long(o); !why.empty()) return why;
  std::lock_guard lock(m.mutex);
  h5::quiet();
  if (!m.file) m.open();  // the first result: a rank that runs nothing makes no file
  m.roll_if_full(o);
  o.placed.assign(m.series.size(), Outcome::Placed{});
  for (std::size_t i = 0; i < m.series.size(); ++i) {
    const std::int64_t n = Impl::length_of(o, i);
    if (n == 0) continue;
    std::shared_ptr<const chunk_codec::Encoded> e =
        i < o.encoded.size() && o.encoded[i]
            ? o.encoded[i]
            : std::make_shared<const chunk_codec::Encoded>(
                  chunk_codec::encode_series(o.series[i], m.series[i]));
    const std::int64_t at = m.next(i);
    h5::set_extent(m.values[i].id(), static_cast<hsize_t>(at + n));
    write_series_chunks(m.values[i].id(), at, *e);
    m.used[i] = at + n;
    o.placed[i] = {m.block * m.block_elements + at, n};
  }
  m.dirty = true;
  o.series.clear();
  o.encoded.clear();
  return {};
}

void BlockWriter::flush() {
  auto& m = *impl_;
  std::lock_guard lock(m.mutex);
  if (!m.dirty) return;
  h5::quiet();
  h5::check(H5Fflush(m.file.id(), H5F_SCOPE_LOCAL), "H5Fflush series block file");
  check_io(m.io, block_path(m.folder, m.block));
  m.dirty = false;
}

}  // namespace mpisweep::archive::series_files

namespace mpisweep::archive {

h5::Dataset create_series_virtual(hid_t group, const SeriesSpec& spec,
                                  const std::string& folder_name) {
  const auto block = static_cast<hsize_t>(series_files::block_elements_for_new_archive());
  hsize_t dims = 0, maxdims = H5S_UNLIMITED;
  h5::Dataspace vspace(h5::check(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple"));
  // Virtual: blocks of `block` values, one after another, as many as there are files.
  hsize_t start = 0, stride = block, count = H5S_UNLIMITED;
  h5::check(H5Sselect_hyperslab(vspace.id(), H5S_SELECT_SET, &start, &stride, &count, &block),
            "H5Sselect_hyperslab(virtual)");
  // Source: the first `block` values of each file's (unlimited) values.
  h5::Dataspace sspace(h5::check(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple"));
  hsize_t one = 1;
  h5::check(H5Sselect_hyperslab(sspace.id(), H5S_SELECT_SET, &start, nullptr, &one, &block),
            "H5Sselect_hyperslab(source)");
  h5::PropList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)"));
  const double fill = 0;  // the padding after an array reads as 0, as in the default mode
  h5::check(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_DOUBLE, &fill), "H5Pset_fill_value");
  // %b is the block index; the file name is relative to the archive's folder.
  const std::string files = folder_name + "/block-%b.h5";
  const std::string source = "/series/" + spec.name + "/values";
  h5::check(H5Pset_virtual(dcpl.id(), vspace.id(), files.c_str(), source.c_str(), sspace.id()),
            "H5Pset_virtual");
  const hid_t type = spec.storage.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  return h5::Dataset(
      h5::check(H5Dcreate2(group, "values", type, vspace.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                "create virtual dataset series/" + spec.name + "/values"));
}

std::int64_t series_block_elements(hid_t dataset) {
  h5::PropList dcpl(h5::check(H5Dget_create_plist(dataset), "H5Dget_create_plist"));
  h5::Dataspace v(h5::check(H5Pget_virtual_vspace(dcpl.id(), 0), "H5Pget_virtual_vspace"));
  hsize_t start = 0, stride = 0, count = 0, block = 0;
  h5::check(H5Sget_regular_hyperslab(v.id(), &start, &stride, &count, &block),
            "H5Sget_regular_hyperslab");
  return static_cast<std::int64_t>(block);
}

std::string series_folder_name(hid_t dataset) {
  h5::PropList dcpl(h5::check(H5Dget_create_plist(dataset), "H5Dget_create_plist"));
  if (H5Pget_layout(dcpl.id()) != H5D_VIRTUAL) return {};
  const ssize_t n = H5Pget_virtual_filename(dcpl.id(), 0, nullptr, 0);
  if (n <= 0) return {};
  std::string name(static_cast<std::size_t>(n) + 1, '\0');
  H5Pget_virtual_filename(dcpl.id(), 0, name.data(), name.size());
  name.resize(static_cast<std::size_t>(n));
  const auto slash = name.rfind('/');
  return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

}  // namespace mpisweep::archive

namespace mpisweep::archive {

bool check_series_mode(hid_t dataset, const SeriesSpec& spec, const std::string& path,
                       const Layout& layout) {
  const bool virt = !series_folder_name(dataset).empty();
  if (virt == !layout.series_files.empty()) return virt;
  throw input_error(path, "/series/" + spec.name + "/values is " +
                              (virt ? "in block files beside the archive (series_files = "
                                      "\"per_rank\"), but the sweep file asks for \"archive\""
                                    : "in the archive, but the sweep file asks for series_files "
                                      "= \"per_rank\"") +
                              "; the mode is fixed when an archive is made: use the archive's "
                              "mode or a new --archive");
}

void Writer::Impl::check_series_files() {
  if (layout.series_files.empty() || layout.series.empty()) return;
  namespace sf = series_files;
  const std::string folder =
      (std::filesystem::path(path).parent_path() / layout.series_files).string();
  next_block = sf::prepare(folder, layout.series);
  block_elements = archive::series_block_elements(values.at(0).id());
  // Each done row's arrays must lie within what its block file holds: a file deleted (now an
  // empty placeholder) or cut short sends the row back to pending, and it runs again.
  std::vector<std::vector<std::int64_t>> lengths(static_cast<std::size_t>(next_block));
  std::vector<bool> loaded(lengths.size(), false);
  std::size_t rerun = 0;
  for (std::size_t row = 0; row < store.size(); ++row) {
    if (store.rows[row].status != TaskStatus::done) continue;
    bool ok = true;
    for (std::size_t k = 0; k < store.series.size() && ok; ++k) {
      const std::int64_t off = store.series[k].offset[row], n = store.series[k].length[row];
      if (n == 0) continue;
      const std::int64_t b = off / block_elements;
      if (off < 0 || b >= next_block) {
        ok = false;
        break;
      }
      const auto bi = static_cast<std::size_t>(b);
      if (!loaded[bi]) {
        lengths[bi] = sf::stored_lengths(folder, b, layout.series);
        loaded[bi] = true;
      }
      ok = k < lengths[bi].size() && off % block_elements + n <= lengths[bi][k];
    }
    if (ok) continue;
    store.rows[row].status = TaskStatus::pending;
    for (auto& s : store.series) s.offset[row] = s.length[row] = 0;
    store.mark(row, Dirty::recorded);
    ++rerun;
  }
  if (rerun > 0) {
    std::fprintf(stderr,
                 "mpisweep: %zu done task(s) of %s have series values missing from %s (a block "
                 "file deleted or cut short); they run again\n",
                 rerun, path.c_str(), folder.c_str());
    flush();
  }
}

}  // namespace mpisweep::archive
