// `validate` and `experiments`: read-only commands that never start MPI (`status` is in
// status.cpp).
#include "options.hpp"
#include "point_table.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mpisweep::cli {

namespace {
void print_columns(const std::vector<std::vector<std::string>>& rows);
}  // namespace

void add_validate(CLI::App& app, Action& action) {
  struct Args {
    std::string spec;
    std::vector<std::string> sets;
    bool list = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("validate", "parse and expand a sweep file; print the task count");
  cmd->add_option("SPEC", a->spec, "sweep file (TOML)")->required();
  cmd->add_option("--set", a->sets, "override as for run");
  cmd->add_flag("--list", a->list, "print every parameter point (random draws included)");
  cmd->callback([a, &action] {
    action = [a] {
      const auto spec = sweep::load_spec(a->spec, a->sets);
      std::printf("%s: %s of experiment %s, archive %s\n", a->spec.c_str(),
                  task_count_text(spec).c_str(), spec.experiment.c_str(), spec.archive.c_str());
      if (a->list) print_point_table(spec);
      return 0;
    };
  });
}

namespace {

// A bound as the parameter's type reads: integers without a decimal point or exponent.
std::string bound(double x, ParamType type) {
  char buf[40];
  if (type == ParamType::integer && std::fabs(x) < 9.2e18 && x == std::floor(x))
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(x));
  else
    std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string range_text(const ParamSpec& p) {
  if (p.type != ParamType::integer && p.type != ParamType::real) return p.range_text();
  if (p.min && p.max)
    return std::string(p.min_open ? "(" : "[") + bound(*p.min, p.type) + ", " +
           bound(*p.max, p.type) + (p.max_open ? ")" : "]");
  if (p.min) return std::string(p.min_open ? "> " : ">= ") + bound(*p.min, p.type);
  if (p.max) return std::string(p.max_open ? "< " : "<= ") + bound(*p.max, p.type);
  return "";
}

std::string figure_text(const PlotSpec& f) {
  std::string what = !f.series.empty() ? (f.heatmap ? "heatmap of " : "series ") + f.series
                                       : f.y + " against " + f.x;
  if (!f.group_by.empty()) what += ", one line per " + f.group_by;
  if (f.logx || f.logy) what += f.logx && f.logy ? ", log-log" : f.logx ? ", log x" : ", log y";
  return f.title + " (" + what + ")";
}

// Columns padded to their widest cell, so a long default never shifts the rest of its row.
void print_columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < r.size(); ++i)
      line += " " + (i + 1 < r.size() ? r[i] + std::string(w[i] - r[i].size() + 1, ' ') : r[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

std::string task_count_text(const sweep::Spec& spec) {
  auto n = [](std::size_t k, const char* one, const char* many) {
    return std::to_string(k) + " " + (k == 1 ? one : many);
  };
  return n(spec.tasks.size(), "task", "tasks") + " (" + n(spec.points.size(), "point", "points") +
         " × " + n(spec.seeds.size(), "seed", "seeds") + ")";
}

void print_point_table(const sweep::Spec& spec) {
  std::vector<std::vector<std::string>> rows{{"point"}};
  for (const auto& name : spec.param_names) rows[0].push_back(name);
  for (std::size_t i = 0; i < spec.points.size(); ++i) {
    rows.push_back({std::to_string(i + 1)});
    for (const auto& v : spec.points[i]) rows.back().push_back(display_value(v, false));
  }
  std::printf("\n");
  print_columns(rows);
}

namespace {

void print_experiment(const Experiment& e) {
  std::printf("%s: %s\n\nparameters:\n", e.name.c_str(), e.summary.c_str());
  std::vector<std::vector<std::string>> rows{{"name", "type", "default", "range", "meaning"}};
  for (const auto& p : e.params)
    rows.push_back({p.name, std::string(to_string(p.type)), format_value(p.default_value),
                    range_text(p), p.help + (p.unit.empty() ? "" : " [" + p.unit + "]")});
  print_columns(rows);
  std::printf("\nmetrics:\n");
  rows.clear();
  for (const auto& m : e.metrics)
    rows.push_back({m.name, m.help + (m.unit.empty() ? "" : " [" + m.unit + "]") +
                                (m.timing ? " (a timing: not bit-identical across runs)" : "")});
  print_columns(rows);
  if (!e.series.empty()) std::printf("\nseries:\n");
  rows.clear();
  for (const auto& s : e.series)
    rows.push_back({s.name, s.help + " (against " + (s.axis.empty() ? "index" : s.axis) + ")" +
                                (s.unit.empty() ? "" : " [" + s.unit + "]")});
  print_columns(rows);
  if (!e.plots.empty()) std::printf("\nstandard figures (mpisweep report):\n");
  for (std::size_t i = 0; i < e.plots.size(); ++i)
    std::printf("  %zu. %s\n", i + 1, figure_text(e.plots[i]).c_str());
}

void print_experiment_json(const Experiment& e) {
  std::string o = "{\n  \"name\": " + json_string(e.name) +
                  ",\n  \"summary\": " + json_string(e.summary) + ",\n  \"params\": [";
  for (std::size_t i = 0; i < e.params.size(); ++i) {
    const auto& p = e.params[i];
    o += std::string(i ? "," : "") + "\n    {\"name\": " + json_string(p.name) +
         ", \"type\": " + json_string(std::string(to_string(p.type))) +
         ", \"default\": " + json_value(p.default_value) +
         ", \"min\": " + (p.min ? json_number(*p.min) : "null") +
         ", \"max\": " + (p.max ? json_number(*p.max) : "null") +
         ", \"min_open\": " + (p.min_open ? "true" : "false") +
         ", \"max_open\": " + (p.max_open ? "true" : "false") + ", \"choices\": [";
    for (std::size_t k = 0; k < p.choices.size(); ++k)
      o += (k ? ", " : "") + json_string(p.choices[k]);
    o += "], \"unit\": " + json_string(p.unit) + ", \"help\": " + json_string(p.help) + "}";
  }
  o += "\n  ],\n  \"metrics\": [";
  for (std::size_t i = 0; i < e.metrics.size(); ++i) {
    const auto& m = e.metrics[i];
    o += std::string(i ? "," : "") + "\n    {\"name\": " + json_string(m.name) +
         ", \"unit\": " + json_string(m.unit) + ", \"timing\": " + (m.timing ? "true" : "false") +
         ", \"help\": " + json_string(m.help) + "}";
  }
  o += "\n  ],\n  \"series\": [";
  for (std::size_t i = 0; i < e.series.size(); ++i) {
    const auto& s = e.series[i];
    o += std::string(i ? "," : "") + "\n    {\"name\": " + json_string(s.name) +
         ", \"unit\": " + json_string(s.unit) + ", \"axis\": " + json_string(s.axis) +
         ", \"help\": " + json_string(s.help) + "}";
  }
  o += "\n  ],\n  \"figures\": [";
  for (std::size_t i = 0; i < e.plots.size(); ++i) {
    const auto& f = e.plots[i];
    o += std::string(i ? "," : "") + "\n    {\"title\": " + json_string(f.title) +
         ", \"x\": " + json_string(f.x) + ", \"y\": " + json_string(f.y) +
         ", \"group_by\": " + json_string(f.group_by) + ", \"series\": " + json_string(f.series) +
         ", \"logx\": " + (f.logx ? "true" : "false") +
         ", \"logy\": " + (f.logy ? "true" : "false") +
         ", \"heatmap\": " + (f.heatmap ? "true" : "false") + "}";
  }
  o += "\n  ]\n}\n";
  std::fputs(o.c_str(), stdout);
}

}  // namespace

void add_experiments(CLI::App& app, Action& action) {
  auto kind = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  auto* cmd = app.add_subcommand("experiments",
                                 "list experiment kinds, or one kind's parameters and metrics");
  cmd->add_option("KIND", *kind, "an experiment kind");
  cmd->add_option("--format", *format, "text or json (with KIND)")
      ->check(option::one_of({"text", "json"}));
  cmd->callback([kind, format, &action] {
    action = [kind, format] {
      if (!kind->empty()) {
        const Experiment& e = find_experiment(*kind);
        if (*format == "json")
          print_experiment_json(e);
        else
          print_experiment(e);
        return 0;
      }
      std::size_t w = 0;
      for (const auto& e : experiments()) w = std::max(w, e.name.size());
      for (const auto& e : experiments())
        std::printf("%-*s  %s\n", int(w), e.name.c_str(), e.summary.c_str());
      return 0;
    };
  });
}

}  // namespace mpisweep::cli
