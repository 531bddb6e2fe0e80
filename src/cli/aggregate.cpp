// The browse library: task table, grouping and mean ± standard error (the --where parser is in
// where.cpp).
#include <mpisweep/core/text.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

namespace mpisweep::cli {

namespace {

const Experiment* known_experiment(const std::string& name) {
  for (const auto& e : experiments())
    if (e.name == name) return &e;
  return nullptr;
}

template <class Columns>
std::size_t index_by_name(const Columns& columns, std::string_view name) {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return i;
  return TaskTable::npos;
}

// The indices of `names` among `columns` (each once, in the order given); input_error naming
// `option` and listing the archive's names for one that is not there.
template <class Columns>
std::vector<std::size_t> resolve(const Columns& columns, std::span<const std::string> names,
                                 const std::string& option, const char* what, const char* plural) {
  std::vector<std::size_t> out;
  for (const auto& name : names) {
    const std::size_t i = index_by_name(columns, name);
    if (i == TaskTable::npos) {
      std::vector<std::string> valid;
      for (const auto& c : columns) valid.push_back(c.name);
      throw input_error(option, "unknown " + std::string(what) + " '" + name + "'; the archive's " +
                                    plural + " are: " + join(valid));
    }
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Task table

std::size_t TaskTable::param_index(std::string_view name) const {
  return index_by_name(params, name);
}

std::size_t TaskTable::metric_index(std::string_view name) const {
  return index_by_name(metrics, name);
}

TaskTable load_table(const archive::Reader& reader) {
  TaskTable t;
  t.experiment = reader.info().experiment;
  t.status = reader.status();
  t.seeds = reader.seeds();
  const std::size_t n = std::min(t.status.size(), t.seeds.size());
  t.status.resize(n);
  t.seeds.resize(n);

  // Declaration order of the experiment reads better than the archive's alphabetical order.
  const Experiment* e = known_experiment(t.experiment);
  auto rank_of = [](const auto& decl, const std::string& name) {
    for (std::size_t i = 0; i < decl.size(); ++i)
      if (decl[i].name == name) return i;
    return decl.size();
  };
  auto params = reader.params();
  auto metrics = reader.metrics();
  if (e) {
    std::stable_sort(params.begin(), params.end(), [&](const auto& a, const auto& b) {
      return rank_of(e->params, a.name) < rank_of(e->params, b.name);
    });
    std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) {
      return rank_of(e->metrics, a.name) < rank_of(e->metrics, b.name);
    });
  }
  // Parameters the stored sweep file draws at random ([random] section): their values scatter.
  std::vector<std::string> drawn;
  try {
    const toml::table spec = toml::parse(reader.info().spec_toml);
    if (const toml::table* r = spec["random"].as_table())
      for (const auto& [key, _] : *r)
        if (key.str() != "count") drawn.emplace_back(key.str());
  } catch (const toml::parse_error&) {
    // An archive of another tool's making: no parameter is known to be random.
  }
  for (const auto& c : params) {
    archive::ParamColumn col = reader.param(c.name);
    ParamInfo info{c.name, col.type, c.unit, {}};
    info.random = std::find(drawn.begin(), drawn.end(), c.name) != drawn.end();
    if (e) {
      auto r = rank_of(e->params, c.name);
      if (r < e->params.size()) info.choices = e->params[r].choices;
    }
    col.values.resize(n);
    t.params.push_back(std::move(info));
    t.param_values.push_back(std::move(col.values));
  }
  for (const auto& c : metrics) {
    auto values = reader.metric(c.name);
    values.resize(n, std::nan(""));
    t.metrics.push_back({c.name, c.unit, c.help});
    t.metric_values.push_back(std::move(values));
  }
  return t;
}

std::vector<std::size_t> resolve_params(const TaskTable& t, std::span<const std::string> names,
                                        const std::string& option) {
  return resolve(t.params, names, option, "parameter", "parameters");
}

std::vector<std::size_t> resolve_metrics(const TaskTable& t, std::span<const std::string> names,
                                         const std::string& option) {
  return resolve(t.metrics, names, option, "metric", "metrics");
}

// ---------------------------------------------------------------------------------------------
// Statistics

bool as_number(const Value& v, double& x) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    x = static_cast<double>(*i);
    return true;
  }
  if (const auto* d = std::get_if<double>(&v)) {
    x = *d;
    return true;
  }
  if (const auto* b = std::get_if<bool>(&v)) {
    x = *b ? 1 : 0;
    return true;
  }
  return false;
}

Stat mean_se(std::span<const double> values) {
  // Two passes (mean, then squared deviations) for accuracy with large offsets.
  Stat s;
  double sum = 0;
  for (double x : values)
    if (std::isfinite(x)) {
      sum += x;
      ++s.n;
    }
  if (s.n == 0) {
    s.mean = s.se = std::nan("");
    return s;
  }
  s.mean = sum / static_cast<double>(s.n);
  if (s.n == 1) {
    s.se = std::nan("");
    return s;
  }
  double ss = 0;
  for (double x : values)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  const double var = ss / static_cast<double>(s.n - 1);
  s.se = std::sqrt(var / static_cast<double>(s.n));
  return s;
}

void Counts::add(archive::TaskStatus s) {
  switch (s) {
    case archive::TaskStatus::done: ++done; break;
    case archive::TaskStatus::failed: ++failed; break;
    case archive::TaskStatus::timeout: ++timeout; break;
    case archive::TaskStatus::pending:
    case archive::TaskStatus::returned: ++pending; break;  // returned is never stored
  }
}

Counts& Counts::operator+=(const Counts& o) {
  done += o.done;
  failed += o.failed;
  timeout += o.timeout;
  pending += o.pending;
  return *this;
}

int compare_values(const Value& a, const Value& b) {
  double x = 0, y = 0;
  const bool an = !std::holds_alternative<std::string>(a) && !std::holds_alternative<bool>(a);
  const bool bn = !std::holds_alternative<std::string>(b) && !std::holds_alternative<bool>(b);
  if (an && bn) {
    as_number(a, x);
    as_number(b, y);
    if (x < y) return -1;
    if (x > y) return 1;
    // NaN sorts last; integers before equal reals keeps the order total.
    if (std::isnan(x) != std::isnan(y)) return std::isnan(x) ? 1 : -1;
    return a.index() < b.index() ? -1 : a.index() > b.index() ? 1 : 0;
  }
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  if (const auto* ab = std::get_if<bool>(&a)) return int(*ab) - int(std::get<bool>(b));
  const auto& as = std::get<std::string>(a);
  const auto& bs = std::get<std::string>(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

Summary summarize(const TaskTable& t, std::span<const std::size_t> key_params,
                  std::span<const std::size_t> metrics, const Where& where) {
  Summary s;
  s.key_params.assign(key_params.begin(), key_params.end());
  s.metrics.assign(metrics.begin(), metrics.end());
  auto less = [](const std::vector<Value>& a, const std::vector<Value>& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (int c = compare_values(a[i], b[i]); c != 0) return c < 0;
    return false;
  };
  std::map<std::vector<Value>, Group, decltype(less)> groups(less);
  for (std::size_t row = 0; row < t.rows(); ++row) {
    if (!where.matches(t, row)) {
      ++s.filtered_out;
      continue;
    }
    std::vector<Value> key;
    key.reserve(key_params.size());
    for (auto p : key_params) key.push_back(t.param_values[p][row]);
    Group& g = groups[key];
    g.rows.push_back(row);
    g.counts.add(t.status[row]);
    s.total.add(t.status[row]);
  }
  std::vector<double> buf;
  for (auto& [key, g] : groups) {
    g.key = key;
    for (auto m : metrics) {
      buf.clear();
      for (auto row : g.rows)
        if (t.status[row] == archive::TaskStatus::done) buf.push_back(t.metric_values[m][row]);
      g.stats.push_back(mean_se(buf));
    }
    s.groups.push_back(std::move(g));
  }
  return s;
}

std::vector<std::size_t> varying_params(const TaskTable& t, const Where& where) {
  std::vector<std::size_t> out;
  std::vector<std::size_t> kept;
  for (std::size_t row = 0; row < t.rows(); ++row)
    if (where.matches(t, row)) kept.push_back(row);
  for (std::size_t p = 0; p < t.params.size(); ++p) {
    const auto& col = t.param_values[p];
    for (auto row : kept)
      if (compare_values(col[row], col[kept.front()]) != 0) {
        out.push_back(p);
        break;
      }
  }
  return out;
}

Curve mean_curve(std::span<const std::vector<double>> curves) {
  std::size_t len = 0;
  for (const auto& c : curves) len = std::max(len, c.size());
  Curve out;
  std::vector<double> column;
  for (std::size_t i = 0; i < len; ++i) {
    column.clear();
    for (const auto& c : curves)
      if (i < c.size()) column.push_back(c[i]);
    Stat s = mean_se(column);
    out.mean.push_back(s.mean);
    out.se.push_back(s.se);
    out.n.push_back(s.n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formatting

std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, ec == std::errc() ? end : buf);
}

void format_mean_se(const Stat& s, std::string& mean_text, std::string& se_text) {
  char buf[64];
  se_text.clear();
  if (s.n == 0 || !std::isfinite(s.mean)) {
    mean_text = "-";
    return;
  }
  if (!std::isfinite(s.se) || s.se == 0) {
    std::snprintf(buf, sizeof buf, "%.4g", s.mean);
    mean_text = buf;
    if (s.se == 0) se_text = "0";
    return;
  }
  // Two significant digits of the standard error fix the decimal place of both.
  const int se_exp = static_cast<int>(std::floor(std::log10(s.se)));
  const int decimals = 1 - se_exp;
  const double mag = std::max(std::fabs(s.mean), s.se);
  if (decimals >= 0 && decimals <= 6 && mag < 1e7) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.*f", decimals, s.se);
    se_text = buf;
  } else if (decimals < 0 && mag < 1e7) {
    std::snprintf(buf, sizeof buf, "%.0f", s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.0f", s.se);
    se_text = buf;
  } else {
    // Mantissa digits such that the last one sits at the se's second significant digit.
    const int mean_exp =
        s.mean == 0 ? se_exp : static_cast<int>(std::floor(std::log10(std::fabs(s.mean))));
    const int digits = std::clamp(mean_exp - se_exp + 1, 1, 15);
    std::snprintf(buf, sizeof buf, "%.*e", digits, s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.1e", s.se);
    se_text = buf;
  }
}

void format_mean_se_column(std::span<const Stat> stats_in, std::vector<std::string>& means,
                           std::vector<std::string>& ses) {
  // A spread below rounding noise (seeds that agree to the last bit but for summation order)
  // is no spread.
  std::vector<Stat> stats(stats_in.begin(), stats_in.end());
  for (auto& st : stats)
    if (std::isfinite(st.se) && st.se < 1e-12 * std::fabs(st.mean)) st.se = 0;
  // Decimals each row needs: the se's second significant digit, or, without a spread, as many
  // as the mean needs up to 4 significant digits (115 -> 0, 0.5 -> 1, 0.70292 -> 4).
  int decimals = 0;
  bool fixed = true;
  for (const auto& st : stats) {
    if (st.n == 0 || !std::isfinite(st.mean)) continue;
    int d = 0;
    if (std::isfinite(st.se) && st.se > 0) {
      d = 1 - static_cast<int>(std::floor(std::log10(st.se)));
    } else if (st.mean != 0) {
      const int most = 3 - static_cast<int>(std::floor(std::log10(std::fabs(st.mean))));
      for (d = 0; d < most; ++d) {
        const double scaled = st.mean * std::pow(10.0, d);
        if (std::fabs(scaled - std::round(scaled)) <= 1e-9 * std::fabs(scaled)) break;
      }
    }
    const double mag = std::max(std::fabs(st.mean), std::isfinite(st.se) ? st.se : 0.0);
    if (mag >= 1e7 || d > 6) fixed = false;
    decimals = std::max(decimals, d);
  }
  means.clear();
  ses.clear();
  char buf[64];
  for (const auto& st : stats) {
    std::string m, se;
    if (!fixed || st.n == 0 || !std::isfinite(st.mean)) {
      format_mean_se(st, m, se);
    } else {
      std::snprintf(buf, sizeof buf, "%.*f", decimals, st.mean);
      m = buf;
      if (std::isfinite(st.se)) {
        std::snprintf(buf, sizeof buf, "%.*f", decimals, st.se);
        se = buf;
      }
    }
    means.push_back(m);
    ses.push_back(se);
  }
}

std::string display_value(const Value& v, bool random) {
  const auto* d = std::get_if<double>(&v);
  if (!d || !std::isfinite(*d)) return format_value(v);
  char buf[40];
  std::snprintf(buf, sizeof buf, random ? "%.5g" : "%.6g", *d);
  return buf;
}

}  // namespace mpisweep::cli
