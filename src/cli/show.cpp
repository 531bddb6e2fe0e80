// `mpisweep show`: one row per parameter point (or --group-by group) with mean ± standard error
// over seeds of each metric, as an aligned table, CSV or JSON. Failed, timed-out and pending tasks
// are counted in their rows, never dropped silently.
#include <mpisweep/core/text.hpp>
#include "options.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/cli/commands.hpp>
#include <mpisweep/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sys/ioctl.h>
#include <unistd.h>

namespace mpisweep::cli {

namespace {

// Display width in columns: "±" is one column but two bytes of UTF-8.
std::size_t text_width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string pad_left(const std::string& s, std::size_t w) {
  const std::size_t n = text_width(s);
  return n >= w ? s : std::string(w - n, ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t w) {
  const std::size_t n = text_width(s);
  return n >= w ? s : s + std::string(w - n, ' ');
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(double x) { return std::isfinite(x) ? format_number(x) : ""; }

const char* status_text(archive::TaskStatus s) {
  switch (s) {
    case archive::TaskStatus::done: return "done";
    case archive::TaskStatus::failed: return "failed";
    case archive::TaskStatus::timeout: return "timeout";
    default: return "pending";
  }
}

std::string metric_header(const MetricInfo& m) {
  return m.unit.empty() ? m.name : m.name + " [" + m.unit + "]";
}

struct CountColumn {
  const char* name;
  std::size_t Counts::*field;
};
constexpr CountColumn count_columns[] = {{"done", &Counts::done},
                                         {"failed", &Counts::failed},
                                         {"timeout", &Counts::timeout},
                                         {"pending", &Counts::pending}};

std::string render_csv(const TaskTable& t, const Summary& s) {
  std::string out;
  std::string sep;
  for (auto p : s.key_params) {
    out += sep + csv_field(t.params[p].name);
    sep = ",";
  }
  for (const auto& c : count_columns) {
    out += sep + c.name;
    sep = ",";
  }
  for (auto m : s.metrics) {
    const std::string& n = t.metrics[m].name;
    out += sep + csv_field(n + "_mean") + "," + csv_field(n + "_se") + "," + csv_field(n + "_n");
    sep = ",";
  }
  out += "\n";
  for (const auto& g : s.groups) {
    sep.clear();
    for (const auto& v : g.key) {
      out += sep + csv_field(format_value(v));
      sep = ",";
    }
    for (const auto& c : count_columns) {
      out += sep + std::to_string(g.counts.*(c.field));
      sep = ",";
    }
    for (const auto& st : g.stats) {
      out += sep + csv_number(st.mean) + "," + csv_number(st.se) + "," + std::to_string(st.n);
      sep = ",";
    }
    out += "\n";
  }
  return out;
}

std::string render_json(const TaskTable& t, const Summary& s) {
  auto counts = [](const Counts& c) {
    std::string o = "{";
    for (const auto& col : count_columns)
      o += std::string(o.size() > 1 ? ", " : "") + "\"" + col.name +
           "\": " + std::to_string(c.*(col.field));
    return o + ", \"total\": " + std::to_string(c.total()) + "}";
  };
  std::string out = "{\n  \"experiment\": " + json_string(t.experiment) + ",\n  \"group_by\": [";
  for (std::size_t i = 0; i < s.key_params.size(); ++i)
    out += (i ? ", " : "") + json_string(t.params[s.key_params[i]].name);
  out += "],\n  \"metrics\": [";
  for (std::size_t i = 0; i < s.metrics.size(); ++i) {
    const auto& m = t.metrics[s.metrics[i]];
    out += std::string(i ? ", " : "") + "{\"name\": " + json_string(m.name) +
           ", \"unit\": " + json_string(m.unit) + "}";
  }
  out += "],\n  \"counts\": " + counts(s.total) +
         ",\n  \"filtered_out\": " + std::to_string(s.filtered_out) + ",\n  \"rows\": [";
  for (std::size_t gi = 0; gi < s.groups.size(); ++gi) {
    const auto& g = s.groups[gi];
    out += std::string(gi ? "," : "") + "\n    {\"params\": {";
    for (std::size_t i = 0; i < g.key.size(); ++i)
      out += (i ? ", " : "") + json_string(t.params[s.key_params[i]].name) + ": " +
             json_value(g.key[i]);
    out += "}, \"counts\": " + counts(g.counts) + ", \"metrics\": {";
    for (std::size_t i = 0; i < g.stats.size(); ++i) {
      const auto& st = g.stats[i];
      out += (i ? ", " : "") + json_string(t.metrics[s.metrics[i]].name) +
             ": {\"mean\": " + json_number(st.mean) + ", \"se\": " + json_number(st.se) +
             ", \"n\": " + std::to_string(st.n) + "}";
    }
    out += "}}";
  }
  out += "\n  ]\n}\n";
  return out;
}

// Table and Markdown: parameter columns, the counts that occur, then "mean ± se" per metric with
// the ± signs of a column aligned.
std::string render_text(const TaskTable& t, const Summary& s, std::span<const std::size_t> shown,
                        bool markdown, std::size_t max_width, std::vector<std::string>* hidden) {
  struct Column {
    std::string header;
    std::vector<std::string> cells;
    bool numeric = true;
    // Metric columns: the two halves of each cell, aligned on the ±.
    std::vector<std::string> means, ses;
    std::size_t mean_w = 0, se_w = 0;
    std::size_t width = 0;
    bool metric = false;
  };
  std::vector<Column> cols;
  for (auto p : shown) {
    std::size_t k = 0;
    while (k < s.key_params.size() && s.key_params[k] != p) ++k;
    if (k == s.key_params.size())
      throw internal_error("render_summary: shown parameter not in key");
    Column c;
    c.header = t.params[p].unit.empty() ? t.params[p].name
                                        : t.params[p].name + " [" + t.params[p].unit + "]";
    c.numeric = t.params[p].type == ParamType::integer || t.params[p].type == ParamType::real;
    for (const auto& g : s.groups) c.cells.push_back(display_value(g.key[k], t.params[p].random));
    cols.push_back(std::move(c));
  }
  if (s.per_task) {
    Column c;
    c.header = "status";
    c.numeric = false;
    for (const auto& g : s.groups) c.cells.push_back(status_text(t.status[g.rows.front()]));
    cols.push_back(std::move(c));
  }
  for (const auto& cc : count_columns) {
    if (s.per_task) break;
    // Show a count column when it is not all zero; "done" always.
    if (std::string(cc.name) != "done" && s.total.*(cc.field) == 0) continue;
    Column c;
    c.header = cc.name;
    for (const auto& g : s.groups) c.cells.push_back(std::to_string(g.counts.*(cc.field)));
    cols.push_back(std::move(c));
  }
  const std::size_t first_metric = cols.size();
  for (std::size_t i = 0; i < s.metrics.size(); ++i) {
    Column c;
    c.metric = true;
    c.header = metric_header(t.metrics[s.metrics[i]]);
    // A metric named like a shown parameter (noop's work_us) gets a header of its own.
    for (std::size_t j = 0; j < first_metric; ++j)
      if (cols[j].header == c.header)
        c.header =
            t.metrics[s.metrics[i]].name + " (metric)" +
            (t.metrics[s.metrics[i]].unit.empty() ? "" : " [" + t.metrics[s.metrics[i]].unit + "]");
    std::vector<Stat> stats;
    for (const auto& g : s.groups) stats.push_back(g.stats[i]);
    format_mean_se_column(stats, c.means, c.ses);
    for (std::size_t r = 0; r < c.means.size(); ++r) {
      c.mean_w = std::max(c.mean_w, text_width(c.means[r]));
      c.se_w = std::max(c.se_w, text_width(c.ses[r]));
    }
    for (std::size_t r = 0; r < c.means.size(); ++r) {
      std::string cell = pad_left(c.means[r], c.mean_w);
      if (c.se_w > 0)
        cell +=
            c.ses[r].empty() ? std::string(3 + c.se_w, ' ') : " ± " + pad_right(c.ses[r], c.se_w);
      // Markdown cells need no padding; trailing blanks only widen the source.
      if (markdown) {
        cell = c.means[r] + (c.ses[r].empty() ? "" : " ± " + c.ses[r]);
      }
      c.cells.push_back(cell);
    }
    cols.push_back(std::move(c));
  }
  for (auto& c : cols) {
    c.width = text_width(c.header);
    for (const auto& cell : c.cells) c.width = std::max(c.width, text_width(cell));
  }
  // Leave out metric columns from the right until the table fits (keeping one).
  if (!markdown && max_width > 0) {
    auto total = [&] {
      std::size_t w = 0;
      for (const auto& c : cols) w += c.width + 2;
      return w;
    };
    std::vector<std::string> dropped;
    while (total() > max_width && cols.size() > first_metric + 1) {
      dropped.insert(dropped.begin(), t.metrics[s.metrics[cols.size() - 1 - first_metric]].name);
      cols.pop_back();
    }
    if (hidden) *hidden = dropped;
  }

  std::string out;
  if (markdown) {
    out += "|";
    for (const auto& c : cols) out += " " + c.header + " |";
    out += "\n|";
    for (const auto& c : cols) out += c.numeric ? " ---: |" : " :--- |";
    out += "\n";
    for (std::size_t r = 0; r < s.groups.size(); ++r) {
      out += "|";
      for (const auto& c : cols) out += " " + c.cells[r] + " |";
      out += "\n";
    }
    return out;
  }
  auto line = [&](auto cell_of) {
    std::string l;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const auto& c = cols[i];
      std::string cell = cell_of(c);
      if (i) l += "  ";
      l += c.metric ? pad_right(cell, c.width)
                    : (c.numeric ? pad_left(cell, c.width) : pad_right(cell, c.width));
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  out += line([](const Column& c) {
    // Metric headers centred over the "mean ± se" cells read better than left-aligned ones.
    if (!c.metric) return c.header;
    const std::size_t hw = text_width(c.header);
    return hw >= c.width ? c.header : std::string((c.width - hw) / 2, ' ') + c.header;
  });
  for (std::size_t r = 0; r < s.groups.size(); ++r)
    out += line([r](const Column& c) { return c.cells[r]; });
  return out;
}

std::size_t terminal_width() {
  if (!isatty(STDOUT_FILENO)) return 0;
  if (const char* c = std::getenv("COLUMNS"); c && std::atoi(c) > 0)
    return static_cast<std::size_t>(std::atoi(c));
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

std::string counts_text(const Counts& c) {
  std::string out = std::to_string(c.total()) + (c.total() == 1 ? " task: " : " tasks: ") +
                    std::to_string(c.done) + " done";
  if (c.failed) out += ", " + std::to_string(c.failed) + " failed";
  if (c.timeout) out += ", " + std::to_string(c.timeout) + " timed out";
  if (c.pending) out += ", " + std::to_string(c.pending) + " pending";
  return out;
}

struct ShowArgs {
  std::string archive;
  std::vector<std::string> group_by, metrics;
  std::string where, sort;
  std::string format = "table";
  std::size_t top = 0;
  bool rows = false;
};

// The table with the task's seed as one more integer parameter, for --rows and --group-by seed.
TaskTable with_seed_column(const TaskTable& t) {
  TaskTable out = t;
  if (out.param_index("seed") != TaskTable::npos) return out;
  out.params.push_back({"seed", ParamType::integer, "", {}});
  std::vector<Value> seeds;
  for (auto sd : t.seeds) seeds.emplace_back(static_cast<std::int64_t>(sd));
  out.param_values.push_back(std::move(seeds));
  return out;
}

// --sort METRIC[:desc]: groups by that metric's mean, groups without one last.
void sort_groups(const TaskTable& t, Summary& s, std::vector<std::size_t>& metrics,
                 const std::string& sort) {
  const std::size_t colon = sort.rfind(':');
  const std::string dir = colon == std::string::npos ? "" : sort.substr(colon + 1);
  if (!dir.empty() && dir != "asc" && dir != "desc")
    throw input_error("--sort", "expected METRIC, METRIC:asc or METRIC:desc, found '" + sort + "'");
  const std::string name = dir.empty() ? sort : sort.substr(0, colon);
  const std::vector<std::string> names{name};
  const std::size_t m = resolve_metrics(t, names, "--sort").front();
  const std::size_t k = std::find(s.metrics.begin(), s.metrics.end(), m) - s.metrics.begin();
  if (k == s.metrics.size()) throw internal_error("sort_groups: metric not summarized");
  const bool desc = dir == "desc";
  std::stable_sort(s.groups.begin(), s.groups.end(), [&](const Group& a, const Group& b) {
    const double x = a.stats[k].mean, y = b.stats[k].mean;
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return desc ? x > y : x < y;
  });
  (void)metrics;
}

int show_command(const ShowArgs& a) {
  const TableFormat format = a.format == "csv"        ? TableFormat::csv
                             : a.format == "json"     ? TableFormat::json
                             : a.format == "markdown" ? TableFormat::markdown
                                                      : TableFormat::table;
  archive::Reader reader = archive::Reader::open(a.archive);
  const bool by_seed =
      a.rows || std::find(a.group_by.begin(), a.group_by.end(), "seed") != a.group_by.end();
  if (a.rows && !a.group_by.empty())
    throw input_error("--rows", "shows every task; it does not combine with --group-by");
  const TaskTable loaded = load_table(reader);
  const TaskTable t = by_seed ? with_seed_column(loaded) : loaded;
  Where where;
  if (!a.where.empty()) where = Where::parse(a.where, t);

  std::vector<std::size_t> metrics;
  if (a.metrics.empty())
    for (std::size_t i = 0; i < t.metrics.size(); ++i) metrics.push_back(i);
  else
    metrics = resolve_metrics(t, a.metrics, "--metric");
  if (!a.sort.empty()) {
    // The sort metric is shown even when --metric leaves it out.
    const std::vector<std::string> name{a.sort.substr(0, a.sort.rfind(':'))};
    const auto m = resolve_metrics(t, name, "--sort").front();
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end())
      metrics.insert(metrics.begin(), m);
  }

  std::vector<std::size_t> varying = varying_params(t, where);
  std::vector<std::size_t> key, shown;
  if (a.group_by.empty()) {
    for (std::size_t i = 0; i < t.params.size(); ++i) key.push_back(i);
    shown = varying;
  } else {
    key = resolve_params(t, a.group_by, "--group-by");
    shown = key;
  }
  Summary s = summarize(t, key, metrics, where);
  s.per_task = a.rows;
  if (!a.sort.empty()) sort_groups(t, s, metrics, a.sort);
  const std::size_t all_groups = s.groups.size();
  if (a.top > 0 && s.groups.size() > a.top) s.groups.resize(a.top);

  if (format == TableFormat::csv || format == TableFormat::json) {
    std::fputs(render_summary(t, s, shown, format).c_str(), stdout);
    return 0;
  }

  // Header: what the rows are, and what they average over. In Markdown each line is a paragraph.
  const bool md = format == TableFormat::markdown;
  const char* gap = md ? "\n\n" : "\n";
  const auto& info = reader.info();
  std::printf(
      "%s (%s), %s%s%s", info.name.c_str(), info.experiment.c_str(), counts_text(s.total).c_str(),
      s.filtered_out ? (", " + std::to_string(s.filtered_out) + " left out by --where").c_str()
                     : "",
      gap);
  std::string fixed, pooled;
  for (std::size_t p = 0; p < t.params.size(); ++p) {
    const bool is_varying = std::find(varying.begin(), varying.end(), p) != varying.end();
    const bool is_shown = std::find(shown.begin(), shown.end(), p) != shown.end();
    if (!is_varying && !is_shown && s.total.total() > 0) {
      // Constant over the kept rows: say its value once instead of a column of repeats.
      std::size_t row = s.groups.front().rows.front();
      fixed += (fixed.empty() ? "" : ", ") + t.params[p].name + "=" +
               format_value(t.param_values[p][row]);
    } else if (is_varying && !is_shown) {
      pooled += ", " + t.params[p].name;
    }
  }
  if (!fixed.empty()) std::printf("fixed: %s%s", fixed.c_str(), gap);
  if (a.rows)
    std::printf("one row per task%s", gap);
  else
    std::printf(
        "mean ± standard error over seeds%s of done tasks%s",
        pooled.empty() ? "" : (" and over" + pooled.substr(1) + " (not grouped by)").c_str(), gap);
  if (!a.sort.empty() || a.top > 0)
    std::printf("%s%s%s",
                a.top > 0 && a.top < all_groups ? ("first " + std::to_string(a.top) + " of " +
                                                   std::to_string(all_groups) + " rows")
                                                      .c_str()
                                                : "all rows",
                a.sort.empty() ? "" : (", sorted by " + a.sort).c_str(), gap);
  if (!md) std::printf("\n");
  if (s.groups.empty()) {
    std::printf("no tasks%s\n", s.filtered_out ? " match --where" : "");
    return 0;
  }
  std::vector<std::string> hidden;
  std::fputs(render_summary(t, s, shown, format, terminal_width(), &hidden).c_str(), stdout);
  if (!hidden.empty()) {
    std::string names;
    for (const auto& h : hidden) names += (names.empty() ? "" : ", ") + h;
    std::printf(
        "\n%zu more metric%s not shown (too wide for the terminal): %s; pick with --metric\n",
        hidden.size(), hidden.size() == 1 ? "" : "s", names.c_str());
  }
  if (s.total.failed + s.total.timeout > 0)
    std::printf(
        "\nfailed and timed-out tasks count in their rows but not in the means; "
        "`mpisweep status %s` lists their errors\n",
        a.archive.c_str());
  return 0;
}

}  // namespace

std::string json_string(const std::string& s) { return json_quote(s); }

std::string json_number(double x) { return std::isfinite(x) ? format_number(x) : "null"; }

std::string json_value(const Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return json_number(*d);
  return json_string(std::get<std::string>(v));
}

std::string render_summary(const TaskTable& t, const Summary& s,
                           std::span<const std::size_t> shown_params, TableFormat format,
                           std::size_t max_width, std::vector<std::string>* hidden) {
  switch (format) {
    case TableFormat::csv: return render_csv(t, s);
    case TableFormat::json: return render_json(t, s);
    case TableFormat::markdown: return render_text(t, s, shown_params, true, 0, hidden);
    case TableFormat::table: break;
  }
  return render_text(t, s, shown_params, false, max_width, hidden);
}

void add_show(CLI::App& app, Action& action) {
  auto a = std::make_shared<ShowArgs>();
  auto* cmd = app.add_subcommand(
      "show", "table of results: mean ± standard error over seeds per parameter point");
  cmd->add_option("ARCHIVE", a->archive, "the sweep's HDF5 archive (may be still running)")
      ->required();
  cmd->add_option("--group-by", a->group_by,
                  "parameters (or seed) whose values make the rows (comma-separated or repeated); "
                  "the others are pooled. Default: one row per parameter point")
      ->delimiter(',');
  cmd->add_option("--metric", a->metrics, "metrics to show (repeat or comma-separate); default all")
      ->delimiter(',');
  cmd->add_option("--where", a->where,
                  "keep tasks that match, e.g. 'M>=4 && terminate', \"mode == shear || "
                  "!(lr > 0.1)\", 'G_T < 0.5' (a metric), 'status == failed', 'seed == 3'");
  cmd->add_option("--sort", a->sort,
                  "order rows by a metric's mean: METRIC (ascending) or METRIC:desc");
  cmd->add_option("--top", a->top, "only the first K rows (after --sort)")
      ->check(option::integer_at_least(1));
  cmd->add_flag("--rows", a->rows, "one row per task, with its seed and status");
  cmd->add_option("--format", a->format, "table, markdown, csv or json")
      ->check(option::one_of({"table", "markdown", "csv", "json"}));
  cmd->callback([a, &action] { action = [a] { return show_command(*a); }; });
}

}  // namespace mpisweep::cli
