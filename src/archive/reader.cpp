// The archive reader: SWMR-read mode, so it works while the master writes and on the file of a
// killed writer (whose status flags make every plain open fail until h5clear). Datasets opened
// once are kept and H5Drefresh'ed by refresh(). The row count is the length of /tasks/id, which
// the writer extends last (see writer.cpp), so every other column holds at least that many rows.
#include "format.hpp"
#include "live_lock.hpp"
#include "structure.hpp"

#include <mpisweep/core/text.hpp>

#include <filesystem>
#include <limits>
#include <map>

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

  std::vector<std::string> read_strings(const std::string& name, hsize_t n) const {
    hid_t d = dataset(name);
    h5::Datatype ft = h5::dataset_type(d);
    std::size_t size = h5::type_size(ft.id());
    h5::Datatype mt = h5::string_type(size);
    std::vector<std::string> out;
    out.reserve(n);
    const hsize_t block = fmt::task_chunk;
    std::vector<char> buf(block * size);
    for (hsize_t first = 0; first < n; first += block) {
      hsize_t count = std::min(block, n - first);
      h5::read_rows(d, mt.id(), first, count, buf.data());
      for (hsize_t i = 0; i < count; ++i)
        out.push_back(h5::unpack_string(buf.data() + i * size, size));
    }
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

  void refresh_rows() { rows = h5::extent(dataset("tasks/id")); }
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() { h5::quiet(); }  // the handles close after this, on this thread

Reader Reader::open(const std::string& path) {
  h5::quiet();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw input_error(path, "no such archive");
  if (!h5::is_hdf5(path)) throw input_error(path, "not an HDF5 file (so not an mpisweep archive)");
  auto m = std::make_unique<Impl>();
  m->path = path;
  h5::PropList fapl = h5::file_access(false);
  unsigned open_flags = H5F_ACC_RDONLY | H5F_ACC_SWMR_READ;
  m->file = h5::File(H5Fopen(path.c_str(), open_flags, fapl.id()));
  if (!m->file) {
    // A file written without SWMR (libver earliest, another tool) refuses SWMR reads; a plain
    // read-only open is fine for it.
    std::string swmr_stack = h5::take_error_stack();
    open_flags = H5F_ACC_RDONLY;
    m->file = h5::File(H5Fopen(path.c_str(), open_flags, fapl.id()));
    if (!m->file) {
      h5::take_error_stack();
      fmt::open_failed(path, swmr_stack);
    }
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
    // Before the reopen below: the columns it loads must not stay in the metadata cache.
    check_tables(f, path, !LiveLock::held_elsewhere(path) && last_run_ended(f));
    // A SWMR reader's metadata cache keeps the object headers loaded above as they are now, and
    // H5Drefresh only updates datasets that stay open: a column opened later would still see its
    // chunk index as of now (chunks written since read as fill values). Start over with an empty
    // cache; from here every dataset is loaded when first read and refreshed by refresh().
    sweep.reset();
    m->file.close("close archive " + path);
    m->file =
        h5::File(h5::check(H5Fopen(path.c_str(), open_flags, fapl.id()), "reopen archive " + path));
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
  return impl_->read<std::uint64_t>("tasks/id", H5T_NATIVE_UINT64);
}
std::vector<std::uint64_t> Reader::seeds() const {
  return impl_->read<std::uint64_t>("tasks/seed", H5T_NATIVE_UINT64);
}
std::vector<TaskStatus> Reader::status() const {
  auto raw = impl_->read<std::int8_t>("tasks/status", H5T_NATIVE_INT8);
  std::vector<TaskStatus> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<TaskStatus>(raw[i]);
  return out;
}
std::vector<std::int32_t> Reader::attempts() const {
  return impl_->read<std::int32_t>("tasks/attempts", H5T_NATIVE_INT32);
}
std::vector<std::int32_t> Reader::workers() const {
  return impl_->read<std::int32_t>("tasks/worker", H5T_NATIVE_INT32);
}
std::vector<double> Reader::started() const {
  return impl_->read<double>("tasks/started", H5T_NATIVE_DOUBLE);
}
std::vector<double> Reader::wall_seconds() const {
  return impl_->read<double>("tasks/wall_seconds", H5T_NATIVE_DOUBLE);
}
std::vector<std::string> Reader::errors() const {
  return impl_->read_strings("tasks/error", impl_->rows);
}
std::vector<std::string> Reader::hosts() const {
  return impl_->read_strings("tasks/host", impl_->rows);
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
  const std::string path = "tasks/params/" + name;
  if (!h5::exists(impl_->file.id(), path))
    throw input_error(impl_->path, "no parameter column '" + name + "'");
  hid_t d = impl_->dataset(path);
  h5::Datatype t = h5::dataset_type(d);
  ParamColumn c;
  c.name = name;
  c.type = fmt::param_type_of(t.id(), impl_->path, name);
  switch (c.type) {
    case ParamType::boolean: {
      auto raw = impl_->read<std::int8_t>(path, H5T_NATIVE_INT8);
      c.bools.assign(raw.begin(), raw.end());
      break;
    }
    case ParamType::integer: c.ints = impl_->read<std::int64_t>(path, H5T_NATIVE_INT64); break;
    case ParamType::real: c.reals = impl_->read<double>(path, H5T_NATIVE_DOUBLE); break;
    case ParamType::choice: c.strings = impl_->read_strings(path, impl_->rows); break;
  }
  return c;
}

Value ParamColumn::at(std::size_t row) const {
  switch (type) {
    case ParamType::boolean: return Value{static_cast<bool>(bools.at(row))};
    case ParamType::integer: return Value{ints.at(row)};
    case ParamType::real: return Value{reals.at(row)};
    case ParamType::choice: return Value{strings.at(row)};
  }
  throw internal_error("ParamColumn::at: unknown type");
}

std::vector<double> Reader::metric(const std::string& name) const {
  const std::string path = "tasks/metrics/" + name;
  if (!h5::exists(impl_->file.id(), path))
    throw input_error(impl_->path, "no metric column '" + name + "'");
  return impl_->read<double>(path, H5T_NATIVE_DOUBLE);
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
