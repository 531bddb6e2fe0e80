// `mpisweep report`: a folder with the sweep's summary table (Markdown and CSV), the standard
// figures its experiment declares (PlotSpec) as PNGs, and report.md linking them all.
#include <mpisweep/core/text.hpp>
#include "gnuplot.hpp"
#include "options.hpp"
#include "output_file.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

namespace mpisweep::cli {

namespace {

namespace fs = std::filesystem;

std::string slug(const std::string& title) {
  std::string out;
  for (char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-')
      out += '-';
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "figure" : out;
}

std::string iso_time(double t) { return t <= 0 ? "-" : local_time_text(t); }

const Experiment* known_experiment(const std::string& name) {
  for (const auto& e : experiments())
    if (e.name == name) return &e;
  return nullptr;
}

// Figures for a kind that declares none: each metric (up to six) against the first varying
// numeric parameter, one line per value of the next varying parameter.
std::vector<PlotSpec> fallback_plots(const TaskTable& t, const Where& where) {
  std::vector<PlotSpec> out;
  const auto varying = varying_params(t, where);
  std::string x, group;
  for (auto p : varying)
    if (x.empty() &&
        (t.params[p].type == ParamType::integer || t.params[p].type == ParamType::real))
      x = t.params[p].name;
  for (auto p : varying)
    if (t.params[p].name != x) {
      group = t.params[p].name;
      break;
    }
  if (x.empty()) return out;
  for (std::size_t m = 0; m < t.metrics.size() && out.size() < 6; ++m)
    out.push_back({.title = t.metrics[m].name + " against " + x,
                   .x = x,
                   .y = t.metrics[m].name,
                   .group_by = group});
  return out;
}

std::string caption(const TaskTable& t, const PlotSpec& p) {
  std::ostringstream c;
  if (!p.series.empty()) {
    c << "Per-task series `" << p.series << "` averaged element-wise over seeds";
    if (const Experiment* e = known_experiment(t.experiment))
      for (const auto& s : e->series)
        if (s.name == p.series) c << " (" << s.help << ")";
  } else {
    c << "`" << p.y << "` against `" << p.x << "`, mean over seeds";
    if (auto m = t.metric_index(p.y); m != TaskTable::npos && !t.metrics[m].help.empty())
      c << " (" << t.metrics[m].help << ")";
  }
  if (!p.group_by.empty()) c << ", one line per value of `" << p.group_by << "`";
  c << ". Error bars (or the shaded band) are ± one standard error.";
  return c.str();
}

// The sweep's own axes: a figure for each numeric parameter that varies among the kept tasks but
// is the x of no figure yet, showing the headline metric (the first standard figure's y, else the
// first metric that is not a timing). Random parameters come out as scatter plots (PlotStyle).
std::vector<PlotSpec> axis_plots(const TaskTable& t, const Where& where,
                                 const std::vector<PlotSpec>& have,
                                 const std::vector<MetricSpec>& specs) {
  std::string y;
  for (const auto& p : have)
    if (y.empty() && p.series.empty() && !p.y.empty()) y = p.y;
  for (const auto& m : specs)
    if (y.empty() && !m.timing) y = m.name;
  if (y.empty() && !t.metrics.empty()) y = t.metrics.front().name;
  std::vector<PlotSpec> out;
  if (y.empty() || t.metric_index(y) == TaskTable::npos) return out;
  for (auto p : varying_params(t, where)) {
    const ParamInfo& info = t.params[p];
    if (info.type != ParamType::integer && info.type != ParamType::real) continue;
    if (std::any_of(have.begin(), have.end(), [&](const PlotSpec& s) { return s.x == info.name; }))
      continue;
    out.push_back({.title = y + " against " + info.name, .x = info.name, .y = y});
  }
  return out;
}

struct ReportArgs {
  std::string archive, output, where, size = "900x600";
  std::vector<std::string> group_by;
};

int report_command(const ReportArgs& a) {
  const option::PixelSize size = option::pixel_size(a.size, "--size");
  const int w = size.width, h = size.height;
  // The folder may exist (a previous report); anything else of that name is left alone.
  std::error_code ec;
  const fs::path dir(a.output);
  if (fs::exists(fs::symlink_status(dir, ec)) && !fs::is_directory(fs::status(dir, ec)))
    throw input_error("-o", a.output +
                                " exists and is not a folder (left as it is; choose "
                                "another name)");
  require_gnuplot();
  archive::Reader reader = archive::Reader::open(a.archive);
  const TaskTable t = load_table(reader);
  const auto& info = reader.info();
  fs::create_directories(dir, ec);
  if (ec) throw error("cannot create " + a.output + ": " + ec.message());

  // The summary: one row per parameter point, every metric.
  std::vector<std::size_t> all_params(t.params.size()), all_metrics(t.metrics.size());
  for (std::size_t i = 0; i < all_params.size(); ++i) all_params[i] = i;
  for (std::size_t i = 0; i < all_metrics.size(); ++i) all_metrics[i] = i;
  Where where;
  if (!a.where.empty()) where = Where::parse(a.where, t);
  const auto key = a.group_by.empty() ? all_params : resolve_params(t, a.group_by, "--group-by");
  const Summary s = summarize(t, key, all_metrics, where);
  const auto swept = varying_params(t, where);
  const auto varying = a.group_by.empty() ? swept : key;
  write_text_file((dir / "summary.csv").string(), render_summary(t, s, varying, TableFormat::csv),
                  a.archive, "-o");

  std::ostringstream md;
  md << "# Sweep `" << info.name << "` (" << info.experiment << ")\n\n";
  const Experiment* e = known_experiment(info.experiment);
  if (e) md << e->summary << "\n\n";
  md << "| | |\n| :--- | :--- |\n";
  md << "| archive | `" << a.archive << "` |\n";
  md << "| created | " << info.created << " |\n";
  md << "| mpisweep | " << info.mpisweep_version << " |\n";
  const auto runs = reader.runs();
  if (!runs.empty()) {
    const auto& last = runs.back();
    md << "| runs | " << runs.size() << "; last started " << iso_time(last.start) << " on "
       << last.ranks << " rank(s), "
       << (last.exit_status < 0 ? std::string("still running or interrupted")
                                : "exit status " + std::to_string(last.exit_status))
       << " |\n";
  }
  md << "| tasks | " << s.total.total() << ": " << s.total.done << " done, " << s.total.failed
     << " failed, " << s.total.timeout << " timed out, " << s.total.pending << " pending |\n\n";
  if (s.total.pending > 0)
    md << "> " << s.total.pending
       << " tasks are pending: the sweep is still running or was interrupted (`mpisweep run` "
          "resumes it). Table and figures show the tasks done so far.\n\n";

  if (!a.where.empty())
    md << "Only the tasks that match `" << a.where << "` (" << s.filtered_out << " left out).\n\n";
  md << "## Results\n\nMean ± standard error over seeds of the done tasks, one row per parameter "
        "point (also in [summary.csv](summary.csv)).";
  std::string fixed;
  for (std::size_t p = 0; p < t.params.size(); ++p)
    if (std::find(swept.begin(), swept.end(), p) == swept.end() && t.rows() > 0)
      fixed += (fixed.empty() ? "" : ", ") + std::string("`") + t.params[p].name + "=" +
               format_value(t.param_values[p][0]) + "`";
  if (!fixed.empty()) md << " Fixed parameters: " << fixed << ".";
  md << "\n\n";
  if (s.groups.empty())
    md << "The archive has no tasks yet.\n\n";
  else
    md << render_summary(t, s, varying, TableFormat::markdown) << "\n";
  if (!t.metrics.empty()) {
    md << "Metrics:\n\n";
    for (const auto& m : t.metrics)
      md << "- `" << m.name << "`" << (m.unit.empty() ? "" : " [" + m.unit + "]") << ": " << m.help
         << "\n";
    md << "\n";
  }

  // The archive's own declaration first: it draws the figures without the kind compiled in.
  std::vector<PlotSpec> plots = reader.plots();
  if (plots.empty() && e) plots = e->plots;
  md << "## Figures\n\n";
  if (plots.empty() && !e)
    md << "Experiment `" << info.experiment
       << "` is not registered in this build of mpisweep, so its standard figures are unknown; "
          "drawing each metric against the first varying parameter.\n\n";
  if (plots.empty()) plots = fallback_plots(t, where);
  for (auto& p : axis_plots(t, where, plots, reader.metric_specs())) plots.push_back(std::move(p));
  if (plots.empty()) md << "No figures: no parameter varies in this sweep.\n\n";
  std::size_t drawn = 0;
  for (std::size_t i = 0; i < plots.size(); ++i) {
    const PlotSpec& p = plots[i];
    const std::string file = "fig" + std::to_string(i + 1) + "-" + slug(p.title) + ".png";
    md << "### " << (i + 1) << ". " << p.title << "\n\n";
    PlotRequest r;
    r.x = p.series.empty() ? p.x : "";
    r.y = p.series.empty() ? p.y : "";
    r.series = p.series;
    if (!p.group_by.empty())
      r.group_by = {p.group_by};
    else
      r.group_by = a.group_by;
    r.where = where;
    r.logx = p.logx;
    r.logy = p.logy;
    r.title = p.title;
    std::vector<std::string> notes;
    try {
      Figure f = build_figure(reader, t, r, &notes);
      f.width = w;
      f.height = h;
      render(f, (dir / file).string(), a.archive);
      ++drawn;
      md << "![" << p.title << "](" << file << ")\n\n" << caption(t, p) << "\n";
      for (const auto& n : notes) md << "Note: " << n << ".\n";
      md << "\n";
    } catch (const error& ex) {
      // A file in the way (an HDF5 file named like a figure) stops the report: never replaced.
      if (auto* in = dynamic_cast<const input_error*>(&ex); in && in->where() == "-o") throw;
      // A figure this sweep cannot draw (nothing done yet, a parameter it does not vary) is
      // reported in the page, not fatal: the rest of the report is still useful.
      md << "*Not drawn:* " << ex.what() << "\n\n";
      std::fprintf(stderr, "mpisweep: report: figure %zu (%s) not drawn: %s\n", i + 1,
                   p.title.c_str(), ex.what());
    }
  }

  md << "## Sweep file\n\n```toml\n" << info.spec_toml;
  if (!info.spec_toml.empty() && info.spec_toml.back() != '\n') md << "\n";
  md << "```\n\nRegenerate this page with `mpisweep report " << a.archive << " -o " << a.output
     << "`; browse further with `mpisweep show` and `mpisweep plot` (docs/archive.md shows how "
        "to load the archive with h5py and pandas).\n";
  write_text_file((dir / "report.md").string(), md.str(), a.archive, "-o");
  std::printf("%s (%zu figure%s, summary.csv)\n", (dir / "report.md").string().c_str(), drawn,
              drawn == 1 ? "" : "s");
  return 0;
}

}  // namespace

void add_report(CLI::App& app, Action& action) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "summary table and the experiment's standard figures into a folder (report.md)");
  cmd->add_option("ARCHIVE", a->archive, "the sweep's HDF5 archive (may be still running)")
      ->required();
  cmd->add_option("-o,--output", a->output, "folder to write report.md, summary.csv and PNGs to")
      ->required();
  cmd->add_option("--size", a->size, "figure size WIDTHxHEIGHT in pixels (default 900x600)");
  cmd->add_option("--group-by", a->group_by,
                  "rows of the table and lines of figures that declare none: these parameters")
      ->delimiter(',');
  cmd->add_option("--where", a->where, "report only the tasks that match (as for show)");
  cmd->callback([a, &action] { action = [a] { return report_command(*a); }; });
}

}  // namespace mpisweep::cli
