// `mpisweep plot`: a metric against a parameter (or another metric), a per-task series against its
// declared x scale, or a 2-D field as a heatmap; averaged over seeds with standard-error bars, one
// line per group; PNG, PDF or SVG via gnuplot.
#include "gnuplot.hpp"
#include "options.hpp"
#include "output_file.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

namespace mpisweep::cli {

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string with_unit(const std::string& name, const std::string& unit) {
  return unit.empty() ? name : name + " [" + unit + "]";
}

std::vector<std::string> names_of(const std::vector<ParamInfo>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.name);
  return out;
}
std::vector<std::string> names_of(const std::vector<MetricInfo>& v) {
  std::vector<std::string> out;
  for (const auto& m : v) out.push_back(m.name);
  return out;
}

// "terminate = true" for one grouping parameter, "M=4, mode=a" for several.
std::string group_title(const TaskTable& t, std::span<const std::size_t> params,
                        const std::vector<Value>& key) {
  if (params.size() == 1) return t.params[params[0]].name + " = " + format_value(key[0]);
  std::string out;
  for (std::size_t i = 0; i < params.size(); ++i)
    out += (i ? ", " : "") + t.params[params[i]].name + "=" + format_value(key[i]);
  return out;
}

// Parameters that vary among the kept rows but are in none of `used`: the figure pools them.
std::vector<std::string> pooled_params(const TaskTable& t, const Where& where,
                                       std::span<const std::size_t> used) {
  std::vector<std::string> out;
  for (auto p : varying_params(t, where))
    if (std::find(used.begin(), used.end(), p) == used.end()) out.push_back(t.params[p].name);
  return out;
}

// An integer or real parameter's value as a double.
double numeric_value(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return static_cast<double>(std::get<std::int64_t>(v));
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

bool positive_ok(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

Figure metric_figure(const TaskTable& t, const PlotRequest& r, std::vector<std::string>& notes) {
  if (r.x.empty()) throw input_error("--x", "required: a parameter (or metric) for the x axis");
  const std::vector<std::string> y_name{r.y};
  const std::size_t y = resolve_metrics(t, y_name, "--y").front();
  const auto groups = resolve_params(t, r.group_by, "--group-by");
  const std::size_t xp = t.param_index(r.x);
  const std::size_t xm = t.metric_index(r.x);
  if (xp == TaskTable::npos && xm == TaskTable::npos)
    throw input_error("--x", "unknown parameter or metric '" + r.x +
                                 "'; parameters: " + join(names_of(t.params)) +
                                 "; metrics: " + join(names_of(t.metrics)));

  Figure f;
  f.logx = r.logx;
  f.logy = r.logy;
  f.ylabel = with_unit(t.metrics[y].name, t.metrics[y].unit);

  // Lines keyed by the group_by values; points by x.
  std::map<std::size_t, std::size_t> line_of_group;
  std::vector<std::size_t> key;
  std::vector<std::size_t> metrics{y};
  if (xp != TaskTable::npos) {
    f.xlabel = with_unit(t.params[xp].name, t.params[xp].unit);
    key = groups;
    key.erase(std::remove(key.begin(), key.end(), xp), key.end());
    // Random draws: every drawn point is its own point of the scatter, never pooled with the
    // other points that happen to share no x value anyway.
    if (t.params[xp].random)
      for (std::size_t p = 0; p < t.params.size(); ++p)
        if (p != xp && t.params[p].random && std::find(key.begin(), key.end(), p) == key.end())
          key.push_back(p);
    key.push_back(xp);
    if (auto pooled = pooled_params(t, r.where, key); !pooled.empty())
      notes.push_back("averaged over seeds and over " + join(pooled) +
                      " (vary in the archive but are neither --x nor --group-by; add them to "
                      "--group-by or fix them with --where)");
  } else {
    // x is a metric: one point per parameter point at (mean x, mean y).
    f.xlabel = with_unit(t.metrics[xm].name, t.metrics[xm].unit);
    key.resize(t.params.size());
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = i;
    metrics.push_back(xm);
  }
  const Summary s = summarize(t, key, metrics, r.where);

  // Categorical x for booleans and choices: positions 0..k-1 in sorted order.
  const bool categorical = xp != TaskTable::npos && (t.params[xp].type == ParamType::boolean ||
                                                     t.params[xp].type == ParamType::choice);
  std::vector<Value> categories;
  if (categorical) {
    f.logx = false;
    for (const auto& g : s.groups)
      if (std::none_of(categories.begin(), categories.end(),
                       [&](const Value& v) { return compare_values(v, g.key.back()) == 0; }))
        categories.push_back(g.key.back());
    std::sort(categories.begin(), categories.end(),
              [](const Value& a, const Value& b) { return compare_values(a, b) < 0; });
    for (std::size_t i = 0; i < categories.size(); ++i)
      f.xtics.emplace_back(double(i), format_value(categories[i]));
  }

  std::vector<std::vector<Value>> line_keys;
  std::size_t dropped_log = 0;
  for (const auto& g : s.groups) {
    const Stat& sy = g.stats[0];
    double x = 0;
    if (xp != TaskTable::npos) {
      const Value& xv = g.key.back();
      if (categorical) {
        x = double(std::find_if(categories.begin(), categories.end(),
                                [&](const Value& v) { return compare_values(v, xv) == 0; }) -
                   categories.begin());
      } else {
        x = std::holds_alternative<double>(xv) ? std::get<double>(xv)
                                               : double(std::get<std::int64_t>(xv));
      }
    } else {
      x = g.stats[1].mean;
    }
    if (sy.n == 0 || !std::isfinite(x)) continue;
    if (!positive_ok(x, f.logx) || !positive_ok(sy.mean, f.logy)) {
      ++dropped_log;
      continue;
    }
    // The line's key: the group_by values of this group.
    std::vector<Value> lk;
    for (auto gp : groups) {
      std::size_t k = std::find(key.begin(), key.end(), gp) - key.begin();
      if (k < key.size()) lk.push_back(g.key[k]);
    }
    std::size_t li = std::find(line_keys.begin(), line_keys.end(), lk) - line_keys.begin();
    if (li == line_keys.size()) {
      line_keys.push_back(lk);
      FigureLine line;
      std::vector<std::size_t> gps;
      for (auto gp : groups)
        if (gp != xp) gps.push_back(gp);
      line.title = gps.empty() ? t.metrics[y].name : group_title(t, gps, lk);
      f.lines.push_back(std::move(line));
    }
    auto& line = f.lines[li];
    line.x.push_back(x);
    line.y.push_back(sy.mean);
    line.err.push_back(sy.se);
  }
  // Lines in group order; points along x.
  std::vector<std::size_t> order(f.lines.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& ka = line_keys[a];
    const auto& kb = line_keys[b];
    for (std::size_t i = 0; i < ka.size(); ++i)
      if (int c = compare_values(ka[i], kb[i]); c != 0) return c < 0;
    return false;
  });
  std::vector<FigureLine> sorted;
  for (auto i : order) {
    FigureLine l = std::move(f.lines[i]);
    std::vector<std::size_t> idx(l.x.size());
    for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = k;
    std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return l.x[a] < l.x[b]; });
    FigureLine out{l.title, {}, {}, {}};
    for (auto k : idx) {
      out.x.push_back(l.x[k]);
      out.y.push_back(l.y[k]);
      out.err.push_back(l.err[k]);
    }
    sorted.push_back(std::move(out));
  }
  f.lines = std::move(sorted);
  // A grid axis with few values gets its tics exactly there; scattered x (random draws, a
  // metric) gets gnuplot's own round tics and bare points, since joining them draws a zigzag.
  const bool scattered = xp == TaskTable::npos || t.params[xp].random;
  f.style = r.style.value_or(scattered ? PlotStyle::points : PlotStyle::linespoints);
  if (!categorical && !scattered) {
    for (const auto& l : f.lines) f.x_values.insert(f.x_values.end(), l.x.begin(), l.x.end());
    std::sort(f.x_values.begin(), f.x_values.end());
    f.x_values.erase(std::unique(f.x_values.begin(), f.x_values.end()), f.x_values.end());
    if (f.x_values.size() > 10) f.x_values.clear();
  }
  if (dropped_log)
    notes.push_back(std::to_string(dropped_log) + " point(s) left out: not positive on a log axis");
  if (s.total.done < s.total.total())
    notes.push_back(std::to_string(s.total.total() - s.total.done) + " of " +
                    std::to_string(s.total.total()) +
                    " tasks are not done (failed, timed out or pending) and are not in the figure");
  f.title = r.title.empty() ? t.metrics[y].name + " against " + r.x : r.title;
  if (f.lines.empty())
    throw error("nothing to plot: no done task has a value of " + t.metrics[y].name +
                (r.where.always() ? "" : " among those --where keeps"));
  return f;
}

// A 2-D field (a series declared with a shape) as a heatmap: one task (--task), or the element-wise
// mean over the done tasks --where keeps, which must share one parameter point (the seed mean).
Figure heatmap_figure(const archive::Reader& reader, const TaskTable& t, const PlotRequest& r,
                      const SeriesSpec& spec, std::vector<std::string>& notes) {
  if (spec.shape.size() != 2)
    throw input_error("--heatmap", "series '" + r.series +
                                       "' is not declared as a 2-D field (its shape has " +
                                       std::to_string(spec.shape.size()) + " dimensions)");
  if (!r.group_by.empty()) throw input_error("--group-by", "not used with --heatmap");
  const auto n0 = static_cast<std::size_t>(spec.shape[0]);
  const auto n1 = static_cast<std::size_t>(spec.shape[1]);
  std::vector<std::size_t> rows;
  const auto ids = reader.ids();
  for (std::size_t row = 0; row < t.rows(); ++row) {
    if (t.status[row] != archive::TaskStatus::done || !r.where.matches(t, row)) continue;
    if (!r.task.empty()) {
      if (r.task != task_id_hex(ids.at(row))) continue;
    }
    rows.push_back(row);
  }
  if (rows.empty())
    throw error("nothing to plot: no done task" + (r.task.empty()
                                                       ? std::string(" among those --where keeps")
                                                       : " with id " + r.task));
  std::vector<std::size_t> all(t.params.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<std::string> mixed;
  for (auto p : all)
    for (auto row : rows)
      if (compare_values(t.param_values[p][row], t.param_values[p][rows[0]]) != 0) {
        mixed.push_back(t.params[p].name);
        break;
      }
  if (!mixed.empty())
    throw input_error("--where",
                      "a heatmap shows one parameter point, but the kept tasks differ "
                      "in " +
                          join(mixed) + "; fix them with --where (or pick --task)");
  std::vector<std::vector<double>> fields;
  for (auto row : rows) {
    auto v = reader.series(r.series, row);
    if (v.size() == n0 * n1) fields.push_back(std::move(v));
  }
  if (fields.empty())
    throw error("nothing to plot: no kept task has a " + std::to_string(n0) + "x" +
                std::to_string(n1) + " field " + r.series);
  const Curve mean = mean_curve(fields);
  Figure f;
  f.heatmap = true;
  // Dimension 0 (the slowest) runs along x, dimension 1 along y.
  f.map.cols = n0;
  f.map.rows = n1;
  f.map.z.resize(n0 * n1);
  for (std::size_t i = 0; i < n0; ++i)
    for (std::size_t j = 0; j < n1; ++j) f.map.z[j * n0 + i] = mean.mean[i * n1 + j];
  f.map.zlabel = with_unit(r.series, spec.unit);
  f.xlabel = spec.axes.size() == 2 ? spec.axes[0] : "index 0";
  f.ylabel = spec.axes.size() == 2 ? spec.axes[1] : "index 1";
  const std::string seeds = std::to_string(fields.size()) + " seeds";
  f.title = !r.title.empty()     ? r.title
            : fields.size() == 1 ? r.series + " of one task"
                                 : r.series + ", mean of " + seeds;
  if (fields.size() < rows.size())
    notes.push_back(std::to_string(rows.size() - fields.size()) +
                    " task(s) without the field left out");
  return f;
}

Figure series_figure(const archive::Reader& reader, const TaskTable& t, const PlotRequest& r,
                     std::vector<std::string>& notes) {
  const auto declared = reader.series();
  auto it = std::find_if(declared.begin(), declared.end(),
                         [&](const auto& c) { return c.name == r.series; });
  if (it == declared.end()) {
    std::vector<std::string> names;
    for (const auto& c : declared) names.push_back(c.name);
    throw input_error("--series", "unknown series '" + r.series + "'; the archive's series are: " +
                                      (names.empty() ? std::string("(none)") : join(names)));
  }
  if (!r.x.empty())
    throw input_error("--x", "not used with --series: the x axis is the series' own");
  if (!r.y.empty() && r.y != r.series)
    throw input_error("--y", "not used with --series (the series is the y axis)");
  const auto groups = resolve_params(t, r.group_by, "--group-by");

  // The x scale is the archive's own declaration: element i sits at x_start + i x_step.
  SeriesSpec spec;
  for (const auto& sp : reader.series_specs())
    if (sp.name == r.series) spec = sp;
  const std::string axis = spec.axis.empty() ? "index" : spec.axis;
  if (r.heatmap || !r.task.empty()) return heatmap_figure(reader, t, r, spec, notes);

  // A series may count its x in units of a task parameter (x_scale_param, e.g. record_every):
  // each task's unit is its own value, and only tasks of one unit are averaged element-wise.
  std::size_t unit_p = TaskTable::npos;
  if (!spec.x_scale_param.empty()) {
    unit_p = t.param_index(spec.x_scale_param);
    const bool numeric =
        unit_p != TaskTable::npos &&
        (t.params[unit_p].type == ParamType::integer || t.params[unit_p].type == ParamType::real);
    if (!numeric) {
      notes.push_back("series " + r.series + " counts its x in units of parameter '" +
                      spec.x_scale_param + "', which the archive lacks as a number; x unscaled");
      unit_p = TaskTable::npos;
    }
  }
  std::vector<std::size_t> used = groups;
  if (unit_p != TaskTable::npos) used.push_back(unit_p);
  // Lines of one group but another unit say which unit they have.
  const auto varying = varying_params(t, r.where);
  const bool units_vary = unit_p != TaskTable::npos &&
                          std::find(groups.begin(), groups.end(), unit_p) == groups.end() &&
                          std::find(varying.begin(), varying.end(), unit_p) != varying.end();

  Figure f;
  f.logx = r.logx;
  f.logy = r.logy;
  f.xlabel = axis;
  f.ylabel = with_unit(r.series, it->unit);
  f.title = r.title.empty() ? r.series + " against " + axis : r.title;
  if (auto pooled = pooled_params(t, r.where, used); !pooled.empty())
    notes.push_back("averaged over seeds and over " + join(pooled) +
                    " (vary in the archive but are not in --group-by)");

  const Summary s = summarize(t, groups, {}, r.where);
  std::size_t longest = 0;
  for (const auto& g : s.groups) {
    // The group's done tasks with a curve, split by their x unit (1 without x_scale_param).
    std::map<double, std::vector<std::vector<double>>> by_unit;
    for (auto row : g.rows) {
      if (t.status[row] != archive::TaskStatus::done) continue;
      auto c = reader.series(r.series, row);
      if (c.empty()) continue;
      const double unit =
          unit_p == TaskTable::npos ? 1.0 : numeric_value(t.param_values[unit_p][row]);
      by_unit[unit].push_back(std::move(c));
    }
    for (const auto& [unit, curves] : by_unit) {
      const Curve c = mean_curve(curves);
      FigureLine line;
      line.title = groups.empty() ? r.series : group_title(t, groups, g.key);
      if (units_vary) line.title += ", " + spec.x_scale_param + "=" + format_number(unit);
      line.title += " (" + std::to_string(curves.size()) + " tasks)";
      for (std::size_t i = 0; i < c.mean.size(); ++i) {
        const double x = (spec.x_start + static_cast<double>(i) * spec.x_step) * unit;
        if (!positive_ok(c.mean[i], f.logy) || !positive_ok(x, f.logx)) continue;
        line.x.push_back(x);
        line.y.push_back(c.mean[i]);
        line.err.push_back(c.se[i]);
      }
      longest = std::max(longest, line.x.size());
      if (!line.x.empty()) f.lines.push_back(std::move(line));
    }
  }
  f.band = longest > 25 && !r.style;
  f.style = r.style.value_or(PlotStyle::linespoints);
  if (s.total.done < s.total.total())
    notes.push_back(std::to_string(s.total.total() - s.total.done) + " of " +
                    std::to_string(s.total.total()) +
                    " tasks are not done (failed, timed out or pending) and are not in the figure");
  if (f.lines.empty())
    throw error("nothing to plot: no done task has a non-empty series " + r.series +
                (r.where.always() ? "" : " among those --where keeps"));
  return f;
}

struct PlotArgs {
  std::string archive, x, y, series, where, output, title, size = "900x600", style, task;
  std::vector<std::string> group_by;
  bool logx = false, logy = false, heatmap = false;
};

int plot_command(const PlotArgs& a) {
  const option::PixelSize size = option::pixel_size(a.size, "--size");
  const int w = size.width, h = size.height;
  if (a.y.empty() && a.series.empty())
    throw input_error("--y",
                      "required: the metric to plot (or --series NAME for a per-task curve)");
  // Before any work: a bad -o fails at once and touches nothing.
  image_format(a.output, "-o");
  check_replaceable(a.output, OutputKind::image, a.archive, "-o");
  require_gnuplot();
  archive::Reader reader = archive::Reader::open(a.archive);
  const TaskTable t = load_table(reader);
  PlotRequest r;
  r.x = a.x;
  r.y = a.y;
  r.series = a.series;
  r.group_by = a.group_by;
  r.logx = a.logx;
  r.logy = a.logy;
  r.title = a.title;
  r.heatmap = a.heatmap;
  r.task = a.task;
  if (a.style == "points") r.style = PlotStyle::points;
  if (a.style == "lines") r.style = PlotStyle::lines;
  if (a.style == "linespoints") r.style = PlotStyle::linespoints;
  if ((a.heatmap || !a.task.empty()) && a.series.empty())
    throw input_error("--heatmap", "needs --series NAME, a series declared as a 2-D field");
  if (!a.where.empty()) r.where = Where::parse(a.where, t);
  std::vector<std::string> notes;
  Figure f = build_figure(reader, t, r, &notes);
  f.width = w;
  f.height = h;
  const auto parent = std::filesystem::path(a.output).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  render(f, a.output, a.archive);
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("%s\n", a.output.c_str());
  return 0;
}

}  // namespace

Figure build_figure(const archive::Reader& reader, const TaskTable& t, const PlotRequest& r,
                    std::vector<std::string>* notes) {
  std::vector<std::string> local;
  auto& n = notes ? *notes : local;
  Figure f = r.series.empty() ? metric_figure(t, r, n) : series_figure(reader, t, r, n);
  // Error bars (one per point) suit few points; the caption says what they are.
  return f;
}

void add_plot(CLI::App& app, Action& action) {
  auto a = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand(
      "plot",
      "figure (PNG, PDF or SVG) of a metric against a parameter or metric, a series "
      "against its x, or a 2-D field as a heatmap; mean ± standard error over seeds");
  cmd->add_option("ARCHIVE", a->archive, "the sweep's HDF5 archive (may be still running)")
      ->required();
  cmd->add_option("--x", a->x, "parameter (or metric) for the x axis");
  cmd->add_option("--y", a->y, "metric for the y axis");
  cmd->add_option("--series", a->series,
                  "plot this per-task series against its x instead (averaged over seeds)");
  cmd->add_option("--group-by", a->group_by, "one line per value of these parameters")
      ->delimiter(',');
  cmd->add_option("--where", a->where,
                  "keep tasks whose parameters match, e.g. 'M>=4 && terminate'");
  cmd->add_flag("--logx", a->logx, "logarithmic x axis");
  cmd->add_flag("--logy", a->logy, "logarithmic y axis");
  cmd->add_option("--title", a->title, "figure title");
  cmd->add_option("--style", a->style,
                  "points, lines or linespoints (default: points where x scatters, i.e. a random "
                  "parameter or a metric; linespoints on a grid axis)")
      ->check(option::one_of({"points", "lines", "linespoints"}));
  cmd->add_flag("--heatmap", a->heatmap,
                "with --series NAME of a 2-D field: a heatmap of its mean over the kept seeds "
                "(one parameter point; fix the others with --where)");
  cmd->add_option("--task", a->task, "with --heatmap: the one task to draw (its hex id)");
  cmd->add_option("--size", a->size, "WIDTHxHEIGHT in pixels (default 900x600)");
  cmd->add_option("-o,--output", a->output, "the figure to write: .png, .pdf or .svg")->required();
  cmd->callback([a, &action] { action = [a] { return plot_command(*a); }; });
}

}  // namespace mpisweep::cli
