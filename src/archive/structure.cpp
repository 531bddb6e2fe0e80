#include "structure.hpp"

#include <mpisweep/core/text.hpp>

#include <algorithm>

#ifndef MPISWEEP_VERSION
#define MPISWEEP_VERSION "0.1.0"
#endif

namespace mpisweep::archive {

namespace {

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// The table's columns that live directly in `group`, in table order.
void create_columns(hid_t file, const std::vector<ColumnDef>& columns, const std::string& group) {
  for (const auto& c : columns) {
    if (parent_of(c.path) != group) continue;
    h5::Dataset d = h5::create_column(file, c.path, c.type.id(), fmt::task_chunk,
                                      c.fill.empty() ? nullptr : c.fill.data(), c.filter);
    if (c.describe) c.describe(d.id());
  }
}

void create_sweep_group(hid_t file, const Layout& layout) {
  h5::Group sweep = h5::create_group(file, "sweep", false);
  h5::set_attr(sweep.id(), "name", layout.sweep_name);
  h5::set_attr(sweep.id(), "experiment", layout.experiment);
  h5::set_attr(sweep.id(), "spec_hash", layout.spec_hash);
  for (auto [name, text] : {std::pair{"spec_toml", &layout.spec_toml},
                            std::pair{"command_line", &layout.command_line}}) {
    h5::Datatype t = h5::string_type(text->size() + 1);
    h5::create_scalar(sweep.id(), name, t.id(), text->c_str());
  }
  // The standard figures, one group of attributes each (/sweep/plots/0, 1, ...), so `report`
  // draws them from the archive alone.
  h5::Group plots = h5::create_group(sweep.id(), "plots", true);
  for (std::size_t i = 0; i < layout.plots.size(); ++i) {
    const PlotSpec& p = layout.plots[i];
    h5::Group g = h5::create_group(plots.id(), std::to_string(i), false);
    for (auto [name, value] :
         {std::pair{"title", &p.title}, std::pair{"x", &p.x}, std::pair{"y", &p.y},
          std::pair{"group_by", &p.group_by}, std::pair{"series", &p.series}})
      h5::set_attr(g.id(), name, *value);
    for (auto [name, flag] :
         {std::pair{"logx", p.logx}, std::pair{"logy", p.logy}, std::pair{"heatmap", p.heatmap}})
      h5::set_attr(g.id(), name, std::int64_t{flag ? 1 : 0});
  }
}

}  // namespace

void create_structure(hid_t file, const Layout& layout, const RowStore& store,
                      const Origin* origin) {
  h5::set_attr(file, "format", std::string(fmt::format_name));
  h5::set_attr(file, "format_version", std::int64_t{format_version});
  h5::set_attr(file, "mpisweep_version",
               origin ? origin->mpisweep_version : std::string(MPISWEEP_VERSION));
  h5::set_attr(file, "created", origin ? origin->created : utc_iso_time(unix_now()));
  create_sweep_group(file, layout);
  {
    h5::Group runs = h5::create_group(file, "runs", true);
    for (const auto& c : fmt::run_columns()) {
      h5::Datatype t = c.mem_type();
      h5::create_column(runs.id(), c.name, t.id(), fmt::runs_chunk, nullptr);
    }
  }
  const std::vector<ColumnDef> columns = task_columns(store);
  h5::Group tasks = h5::create_group(file, "tasks", true);
  create_columns(file, columns, "tasks");
  h5::Group params = h5::create_group(tasks.id(), "params", true);
  create_columns(file, columns, "tasks/params");
  h5::Group metrics = h5::create_group(tasks.id(), "metrics", true);
  create_columns(file, columns, "tasks/metrics");
  h5::Group series = h5::create_group(file, "series", true);
  for (const auto& s : layout.series) {
    h5::Group g = h5::create_group(series.id(), s.name, true);
    h5::set_attr(g.id(), "unit", s.unit);
    h5::set_attr(g.id(), "description", s.help);
    h5::set_attr(g.id(), "axis", s.axis);
    h5::set_attr(g.id(), "x_start", s.x_start);
    h5::set_attr(g.id(), "x_step", s.x_step);
    if (!s.x_scale_param.empty()) h5::set_attr(g.id(), "x_scale_param", s.x_scale_param);
    if (!s.shape.empty()) {
      h5::set_attr(g.id(), "shape", std::span<const std::int64_t>(s.shape));
      h5::set_attr(g.id(), "axes", join(s.axes));
    }
    h5::Dataset v = layout.series_files.empty()
                        ? create_series_values(g.id(), s)
                        : create_series_virtual(g.id(), s, layout.series_files);
    h5::set_attr(v.id(), "unit", s.unit);
    h5::set_attr(v.id(), "description", s.help);
    h5::set_attr(v.id(), "axis", s.axis);
    create_columns(file, columns, "series/" + s.name);
  }
}

void validate(hid_t file, const std::string& path, const Layout& layout) {
  fmt::check_format(file, path);
  if (h5::get_attr_int(file, "format_version") > format_version)
    throw input_error(path, "archive format version " +
                                std::to_string(h5::get_attr_int(file, "format_version")) +
                                " is newer than this mpisweep understands (" +
                                std::to_string(format_version) + ")");
  h5::Group sweep = h5::open_group(file, "sweep");
  std::string name = h5::get_attr_string(sweep.id(), "name");
  std::string experiment = h5::get_attr_string(sweep.id(), "experiment");
  if (name != layout.sweep_name)
    throw input_error(path, "archive belongs to sweep '" + name + "', not '" + layout.sweep_name +
                                "' (use another --archive path)");
  if (experiment != layout.experiment)
    throw input_error(
        path, "archive holds experiment '" + experiment + "', not '" + layout.experiment + "'");
  auto compare = [&](const char* what, const std::string& group, const auto& specs) {
    std::vector<std::string> want;
    for (const auto& s : specs) want.push_back(s.name);
    h5::Group g = h5::open_group(file, group);
    std::vector<std::string> have = h5::children(g.id());
    // As sets: the writer finds columns by name, and a column another tool recreated is listed
    // last until the resume puts it back in place (normalize_string_columns).
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    if (sorted(have) != sorted(want))
      throw input_error(path, std::string("archive ") + what + " [" + join(have) +
                                  "] differ from the sweep's [" + join(want) + "]");
  };
  compare("parameter columns", "tasks/params", layout.params);
  compare("metric columns", "tasks/metrics", layout.metrics);
  compare("series", "series", layout.series);
  // Every column of the table exists with the type class the writer writes.
  const RowStore store(layout, fmt::task_chunk);
  const std::vector<ColumnDef> table = task_columns(store);
  for (std::size_t k = 0, param = 0; k < table.size(); ++k) {
    const ColumnDef& c = table[k];
    const bool is_param = c.path.starts_with("tasks/params/");
    if (c.optional && !h5::exists(file, c.path)) continue;
    if (!h5::exists(file, c.path))
      throw input_error(path, "corrupt mpisweep archive: missing /" + c.path);
    h5::Dataset d = h5::open_dataset(file, c.path);
    h5::Datatype t = h5::dataset_type(d.id());
    if (is_param) {
      const ParamSpec& p = layout.params[param++];
      ParamType have = fmt::param_type_of(t.id(), path, p.name);
      if (have != p.type)
        throw input_error(path, "parameter column '" + p.name + "' is " +
                                    std::string(to_string(have)) + ", the sweep says " +
                                    std::string(to_string(p.type)));
    } else if (H5Tget_class(t.id()) != H5Tget_class(c.type.id())) {
      throw input_error(path, "/" + c.path + " has the wrong type for an mpisweep archive");
    }
    // A string column in another form (h5py's) is rewritten by the writer (normalize_strings).
    if (H5Tget_class(c.type.id()) == H5T_STRING) {
      if (h5::is_our_string(t.id()) && h5::type_size(t.id()) < c.elem_size())
        throw input_error(path, is_param ? "parameter column '" + layout.params[param - 1].name +
                                               "' is too narrow for the sweep's choices"
                                         : "/" + c.path + " is too narrow");
    }
  }
}

bool last_run_ended(hid_t file) {
  h5::Dataset end = h5::open_dataset(file, "runs/end");
  const hsize_t n = h5::extent(end.id());
  if (n == 0) return true;  // created, never run: nothing can be half-written
  double value = 0;
  h5::read_rows(end.id(), H5T_NATIVE_DOUBLE, n - 1, 1, &value);
  return value != 0;
}

void check_tables(hid_t file, const std::string& path, bool complete) {
  h5::Dataset id = h5::open_dataset(file, "tasks/id");
  const hsize_t rows = h5::extent(id.id());
  auto check_rows = [&](const std::string& name) {
    h5::Dataset d = h5::open_dataset(file, name);
    const hsize_t n = h5::extent(d.id());
    if (n < rows || (complete && n != rows))
      throw input_error(path, "/" + name + " has " + std::to_string(n) + " rows, /tasks/id has " +
                                  std::to_string(rows));
  };
  for (const char* group : {"tasks", "tasks/params", "tasks/metrics"}) {
    h5::Group g = h5::open_group(file, group);
    for (const auto& name : h5::children(g.id())) {
      const std::string full = std::string(group) + "/" + name;
      h5::Object obj = h5::open_object(file, full);
      if (H5Iget_type(obj.id()) == H5I_DATASET) check_rows(full);
    }
  }
  h5::Group series = h5::open_group(file, "series");
  for (const auto& name : h5::children(series.id()))
    for (const char* column : {"offset", "length"}) check_rows("series/" + name + "/" + column);
  h5::Dataset status = h5::open_dataset(file, "tasks/status");
  std::vector<std::int8_t> values(rows);
  if (rows > 0) h5::read_rows(status.id(), H5T_NATIVE_INT8, 0, rows, values.data());
  for (hsize_t r = 0; r < rows; ++r)
    if (values[r] < 0 || values[r] > 3)
      throw input_error(path, "/tasks/status row " + std::to_string(r) + " is " +
                                  std::to_string(values[r]) +
                                  ", not one of pending, done, failed, timeout");
}

}  // namespace mpisweep::archive
