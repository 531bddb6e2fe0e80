// The archive reader: SWMR-read mode, so it works while the master writes and on the file of a
// killed writer (whose status flags make every plain open fail until h5clear). Datasets opened
// once are kept and H5Drefresh'ed by refresh(). The row count is the length of /tasks/id, which
// the writer extends last (see writer.cpp), so every other column holds at least that many rows.
//
// The /tasks-aligned columns are read through the writer's column table (columns.hpp) into a
// RowStore shaped by the file (layout_of): one definition of each column's path, type and
// conversion for both sides. A column is read once per refresh, when first asked for.
#include "columns.hpp"
#include "format.hpp"
#include "live_lock.hpp"
#include "structure.hpp"

#include <mpisweep/core/text.hpp>

#include <filesystem>
#include <limits>
#include <map>
#include <optional>

namespace mpisweep::archive {

struct Reader::Impl {
  std::string path;
  h5::File file;
  SweepInfo info;
  std::vector<ColumnInfo> params, metrics, series;
  mutable std::map<std::string, h5::Dataset> datasets;
  // offset and length columns of each series, read once (until refresh) so a figure reading
  // thousands of rows' series does one small read a row, not three.
  mutable std::map<std::string, std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>>
      ragged;
  hsize_t rows = 0;

  hid_t dataset(const std::string& name) const {
    h5::quiet();  // per thread in this (thread-safe) HDF5 build; every read comes through here
    auto it = datasets.find(name);
    if (it == datasets.end()) it = datasets.emplace(name, h5::open_dataset(file.id(), name)).first;
    return it->second.id();
  }

  template <class T>
  std::vector<T> read(const std::string& name, hid_t type, hsize_t n) const {
    std::vector<T> out(n);
    h5::read_rows(dataset(name), type, 0, n, out.data());
    return out;
  }
  template <class T>
  std::vector<T> read(const std::string& name, hid_t type) const {
    return read<T>(name, type, rows);
  }

  // The file's columns: its layout, the table over a store of that shape, which columns the
  // store holds (since the last refresh).
  Layout layout;
  mutable std::optional<RowStore> store;
  std::vector<ColumnDef> table;
  mutable std::vector<bool> loaded;
  mutable std::vector<unsigned char> scratch;

  // The store with column `name` read, rows [0, rows).
  const RowStore& column(const std::string& name) const {
    std::size_t k = 0;
    while (k < table.size() && table[k].path != name) ++k;
    if (k == table.size()) throw internal_error("archive reader: no column " + name);
    if (!loaded[k]) {
      if (store->size() != rows) store->resize(rows);
      read_column(dataset(name), table[k], *store, rows, scratch);
      loaded[k] = true;
    }
    return *store;
  }

  template <class Specs>
  std::size_t index_of(const Specs& specs, const std::string& name, const char* what) const {
    for (std::size_t k = 0; k < specs.size(); ++k)
      if (specs[k].name == name) return k;
    throw input_error(path, std::string("no ") + what + " '" + name + "'");
  }

  // One field of every row of the id/status/attempts column `name`.
  template <class Get>
  auto row_field(const std::string& name, Get get) const {
    const RowStore& s = column(name);
    std::vector<decltype(get(s.rows[0]))> out(rows);
    for (std::size_t i = 0; i < rows; ++i) out[i] = get(s.rows[i]);
    return out;
  }

  std::vector<ColumnInfo> columns(const std::string& group) {
    std::vector<ColumnInfo> out;
    h5::Group g = h5::open_group(file.id(), group);
    for (const auto& name : h5::children(g.id())) {
      h5::Object obj = h5::open_object(g.id(), name);
      out.push_back(ColumnInfo{name, h5::get_attr_string(obj.id(), "unit"),
                               h5::get_attr_string(obj.id(), "description")});
    }
    return out;
  }

  void refresh_rows() {
    rows = h5::extent(dataset("tasks/id"));
    loaded.assign(table.size(), false);
  }
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() { h5::quiet(); }  // the handles close after this, on this thread

Reader Reader::open(const std::string& path) {
  h5::quiet();
  fmt::check_readable(path);  // before HDF5 calls EACCES "not an HDF5 file"
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw input_error(path, "no such archive");
  if (!h5::is_hdf5(path)) throw input_error(path, "not an HDF5 file (so not an mpisweep archive)");
  auto m = std::make_unique<Impl>();
  m->path = path;
  h5::PropList fapl = h5::file_access(false);
  unsigned open_flags = H5F_ACC_RDONLY | H5F_ACC_SWMR_READ;
  std::string swmr_stack, ignored;
  m->file = h5::open_file(path, open_flags, fapl.id(), swmr_stack);
  if (!m->file) {
    // A file written without SWMR (libver earliest, another tool) refuses SWMR reads; a plain
    // read-only open is fine for it. A lock held elsewhere was already waited out: not twice.
    if (h5::is_lock_conflict(swmr_stack)) fmt::open_failed(path, swmr_stack);
    open_flags = H5F_ACC_RDONLY;
    m->file = h5::open_file(path, open_flags, fapl.id(), ignored);
    if (!m->file) fmt::open_failed(path, swmr_stack);
  }
  const hid_t f = m->file.id();
  try {
    fmt::check_format(f, path);
    h5::Group sweep = h5::open_group(f, "sweep");
    auto& i = m->info;
    i.name = h5::get_attr_string(sweep.id(), "name");
    i.experiment = h5::get_attr_string(sweep.id(), "experiment");
    i.spec_hash = h5::get_attr_uint(sweep.id(), "spec_hash");
    i.spec_toml = h5::read_scalar_string(sweep.id(), "spec_toml");
    i.command_line = h5::read_scalar_string(sweep.id(), "command_line");
    i.mpisweep_version = h5::get_attr_string(f, "mpisweep_version");
    i.created = h5::get_attr_string(f, "created");
    i.format_version = static_cast<int>(h5::get_attr_int(f, "format_version"));
    m->params = m->columns("tasks/params");
    m->metrics = m->columns("tasks/metrics");
    m->series = m->columns("series");
    m->layout = layout_of(f, path);
    m->store.emplace(m->layout, fmt::task_chunk);
    take_file_widths(f, *m->store);
    m->table = file_columns(f, *m->store);
    // Before the reopen below: the columns it loads must not stay in the metadata cache.
    check_tables(f, path, !LiveLock::held_elsewhere(path) && last_run_ended(f));
    // A SWMR reader's metadata cache keeps the object headers loaded above as they are now, and
    // H5Drefresh only updates datasets that stay open: a column opened later would still see its
    // chunk index as of now (chunks written since read as fill values). Start over with an empty
    // cache; from here every dataset is loaded when first read and refreshed by refresh().
    sweep.reset();
    m->file.close("close archive " + path);
    std::string stack;
    m->file = h5::open_file(path, open_flags, fapl.id(), stack);
    if (!m->file) throw archive_error("reopen archive " + path + ": " + stack);
    m->refresh_rows();
  } catch (const archive_error& e) {
    throw input_error(path, std::string("corrupt mpisweep archive: ") + e.what());
  }
  return Reader(std::move(m));
}

void Reader::refresh() {
  h5::quiet();
  // /tasks/id first: the writer extends it last, so every column refreshed after it is at least
  // as long.
  hid_t id = impl_->dataset("tasks/id");
  h5::check(H5Drefresh(id), "H5Drefresh tasks/id");
  impl_->refresh_rows();
  impl_->ragged.clear();
  for (auto& [name, d] : impl_->datasets)
    if (d.id() != id) h5::check(H5Drefresh(d.id()), "H5Drefresh " + name);
}

const SweepInfo& Reader::info() const { return impl_->info; }
std::size_t Reader::rows() const { return impl_->rows; }

std::vector<RunRecord> Reader::runs() const {
  const auto& cols = fmt::run_columns();
  hsize_t n = std::numeric_limits<hsize_t>::max();
  std::vector<const fmt::RunColumn*> present;  // an older archive lacks the optional columns
  for (const auto& c : cols)
    if (!c.optional || h5::exists(impl_->file.id(), std::string("runs/") + c.name)) {
      present.push_back(&c);
      n = std::min(n, h5::extent(impl_->dataset(std::string("runs/") + c.name)));
    }
  std::vector<RunRecord> out(n);
  for (const auto* cp : present) {
    const auto& c = *cp;
    h5::Datatype t = c.mem_type();
    std::size_t size = c.elem_size();
    std::vector<unsigned char> buf(n * size);
    h5::read_rows(impl_->dataset(std::string("runs/") + c.name), t.id(), 0, n, buf.data());
    for (hsize_t i = 0; i < n; ++i) c.set(out[i], buf.data() + i * size);
  }
  return out;
}

std::vector<std::uint64_t> Reader::ids() const {
  return impl_->row_field("tasks/id", [](const RowState& r) { return r.id; });
}
std::vector<TaskStatus> Reader::status() const {
  return impl_->row_field("tasks/status", [](const RowState& r) { return r.status; });
}
std::vector<std::int32_t> Reader::attempts() const {
  return impl_->row_field("tasks/attempts", [](const RowState& r) { return r.attempts; });
}
std::vector<std::uint64_t> Reader::seeds() const { return impl_->column("tasks/seed").seeds; }
std::vector<std::int32_t> Reader::workers() const { return impl_->column("tasks/worker").workers; }
std::vector<double> Reader::started() const { return impl_->column("tasks/started").started; }
std::vector<double> Reader::wall_seconds() const {
  return impl_->column("tasks/wall_seconds").wall;
}
std::vector<std::string> Reader::errors() const {
  const RowStore& s = impl_->column("tasks/error");
  std::vector<std::string> out(impl_->rows);
  for (const auto& [row, msg] : s.errors)
    if (row < out.size()) out[row] = msg;
  return out;
}
std::vector<std::string> Reader::hosts() const {
  const RowStore& s = impl_->column("tasks/host");
  std::vector<std::string> out(impl_->rows);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = s.hosts.strings[s.host_index[i]];
  return out;
}

std::vector<double> Reader::progress() const {
  std::vector<double> out(impl_->rows, std::numeric_limits<double>::quiet_NaN());
  for (const auto& c : impl_->table)
    if (c.path == "tasks/progress") {
      const auto& p = impl_->column(c.path).progress;
      std::copy(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(out.size()), out.begin());
    }
  return out;
}

std::vector<ColumnInfo> Reader::params() const { return impl_->params; }
std::vector<ColumnInfo> Reader::metrics() const { return impl_->metrics; }
std::vector<ColumnInfo> Reader::series() const { return impl_->series; }

std::vector<MetricSpec> Reader::metric_specs() const {
  h5::quiet();
  std::vector<MetricSpec> out;
  h5::Group g = h5::open_group(impl_->file.id(), "tasks/metrics");
  for (const auto& c : impl_->metrics) {
    h5::Dataset d = h5::open_dataset(g.id(), c.name);
    const bool timing = h5::has_attr(d.id(), "timing") && h5::get_attr_int(d.id(), "timing") != 0;
    out.push_back(MetricSpec{.name = c.name, .help = c.help, .unit = c.unit, .timing = timing});
  }
  return out;
}

std::vector<SeriesSpec> Reader::series_specs() const {
  h5::quiet();
  std::vector<SeriesSpec> out;
  for (const auto& c : impl_->series) {
    h5::Group g = h5::open_group(impl_->file.id(), "series/" + c.name);
    SeriesSpec s{.name = c.name, .help = c.help, .unit = c.unit};
    s.axis = h5::get_attr_string(g.id(), "axis");
    s.x_start = h5::get_attr_double(g.id(), "x_start", 0.0);
    s.x_step = h5::get_attr_double(g.id(), "x_step", 1.0);
    s.x_scale_param = h5::get_attr_string(g.id(), "x_scale_param");  // absent: none
    s.shape = h5::get_attr_ints(g.id(), "shape");
    s.axes = split(h5::get_attr_string(g.id(), "axes"));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<PlotSpec> Reader::plots() const {
  h5::quiet();
  std::vector<PlotSpec> out;
  if (!h5::exists(impl_->file.id(), "sweep/plots")) return out;
  h5::Group plots = h5::open_group(impl_->file.id(), "sweep/plots");
  for (const auto& name : h5::children(plots.id())) {
    h5::Group g = h5::open_group(plots.id(), name);
    auto flag = [&](const char* a) {
      return h5::has_attr(g.id(), a) && h5::get_attr_int(g.id(), a);
    };
    out.push_back(PlotSpec{.title = h5::get_attr_string(g.id(), "title"),
                           .x = h5::get_attr_string(g.id(), "x"),
                           .y = h5::get_attr_string(g.id(), "y"),
                           .group_by = h5::get_attr_string(g.id(), "group_by"),
                           .series = h5::get_attr_string(g.id(), "series"),
                           .logx = flag("logx"),
                           .logy = flag("logy"),
                           .heatmap = flag("heatmap")});
  }
  return out;
}

ParamColumn Reader::param(const std::string& name) const {
  const std::size_t k = impl_->index_of(impl_->layout.params, name, "parameter column");
  const ParamRows& col = impl_->column("tasks/params/" + name).params[k];
  ParamColumn c{.name = name, .type = col.type(), .values = {}};
  c.values.reserve(impl_->rows);
  for (std::size_t row = 0; row < impl_->rows; ++row) c.values.push_back(col.value(row));
  return c;
}

std::vector<double> Reader::metric(const std::string& name) const {
  const std::size_t k = impl_->index_of(impl_->layout.metrics, name, "metric column");
  return impl_->column("tasks/metrics/" + name).metrics[k];
}

std::vector<double> Reader::series(const std::string& name, std::size_t row) const {
  const std::string g = "series/" + name + "/";
  if (!h5::exists(impl_->file.id(), "series/" + name))
    throw input_error(impl_->path, "no series '" + name + "'");
  if (row >= impl_->rows) throw internal_error("Reader::series: row out of range");
  auto it = impl_->ragged.find(name);
  if (it == impl_->ragged.end())
    it = impl_->ragged
             .emplace(name, std::pair{impl_->read<std::int64_t>(g + "offset", H5T_NATIVE_INT64),
                                      impl_->read<std::int64_t>(g + "length", H5T_NATIVE_INT64)})
             .first;
  const std::int64_t offset = it->second.first[row], length = it->second.second[row];
  std::vector<double> out(static_cast<std::size_t>(length));
  h5::read_rows(impl_->dataset(g + "values"), H5T_NATIVE_DOUBLE, static_cast<hsize_t>(offset),
                static_cast<hsize_t>(length), out.data());
  return out;
}

}  // namespace mpisweep::archive
