#include "row_store.hpp"

#include <algorithm>
#include <limits>

namespace mpisweep::archive {

namespace {
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
}

std::uint32_t StringTable::intern(const std::string& s) {
  auto [it, inserted] = index.try_emplace(s, static_cast<std::uint32_t>(strings.size()));
  if (inserted) strings.push_back(s);
  return it->second;
}

std::size_t choice_size(const ParamSpec& p) {
  std::size_t n = 1;
  for (const auto& c : p.choices) n = std::max(n, c.size());
  if (const auto* s = std::get_if<std::string>(&p.default_value)) n = std::max(n, s->size());
  return n + 1;  // terminator
}

bool ParamRows::accepts(const Value& v) const {
  switch (type) {
    case ParamType::boolean: return std::holds_alternative<bool>(v);
    case ParamType::integer: return std::holds_alternative<std::int64_t>(v);
    case ParamType::real:
      return std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v);
    case ParamType::choice:
      return std::holds_alternative<std::string>(v) && std::get<std::string>(v).size() < str_size;
  }
  return false;
}

void ParamRows::push(const Value& v) {
  switch (type) {
    case ParamType::boolean: bools.push_back(std::get<bool>(v) ? 1 : 0); return;
    case ParamType::integer: ints.push_back(std::get<std::int64_t>(v)); return;
    case ParamType::real:
      reals.push_back(std::holds_alternative<double>(v)
                          ? std::get<double>(v)
                          : static_cast<double>(std::get<std::int64_t>(v)));
      return;
    case ParamType::choice: choices.push_back(table.intern(std::get<std::string>(v))); return;
  }
}

void ParamRows::resize(std::size_t n) {
  switch (type) {
    case ParamType::boolean: bools.resize(n); return;
    case ParamType::integer: ints.resize(n); return;
    case ParamType::real: reals.resize(n); return;
    case ParamType::choice: choices.resize(n); return;
  }
}

RowStore::RowStore(const Layout& layout, std::size_t chunk) : layout_(layout), chunk_(chunk) {
  hosts.intern("");
  params.resize(layout_.params.size());
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& spec = layout_.params[k];
    params[k].type = spec.type;
    if (spec.type == ParamType::choice) {
      params[k].str_size = choice_size(spec);
      for (const auto& c : spec.choices) params[k].table.intern(c);
    }
  }
  metrics.resize(layout_.metrics.size());
  series.resize(layout_.series.size());
}

std::size_t RowStore::add(std::span<const TaskRecord> tasks) {
  const std::size_t first = rows.size();
  for (const auto& t : tasks) {
    if (t.id == 0) throw internal_error("archive: task id 0 is reserved (the fill value)");
    if (t.params.size() != params.size())
      throw internal_error("archive: task has " + std::to_string(t.params.size()) +
                           " parameters, the layout " + std::to_string(params.size()));
    for (std::size_t k = 0; k < params.size(); ++k)
      if (!params[k].accepts(t.params[k]))
        throw internal_error("archive: task parameter '" + layout_.params[k].name +
                             "' has the wrong type or does not fit its column");
  }
  for (const auto& t : tasks) {
    rows.push_back({t.id, TaskStatus::pending, 0});
    seeds.push_back(t.seed);
    workers.push_back(-1);
    host_index.push_back(0);
    started.push_back(nan_value);
    wall.push_back(nan_value);
    for (std::size_t k = 0; k < params.size(); ++k) params[k].push(t.params[k]);
    for (auto& col : metrics) col.push_back(nan_value);
    for (auto& s : series) {
      s.offset.push_back(0);
      s.length.push_back(0);
    }
  }
  for (auto& d : dirty_) d.resize((rows.size() + chunk_ - 1) / chunk_, 0);
  for (std::size_t r = first; r < rows.size(); r += chunk_) mark(r, Dirty::added);
  if (rows.size() > first) mark(rows.size() - 1, Dirty::added);
  return first;
}

void RowStore::record(std::size_t row, const Outcome& o) {
  if (row >= rows.size()) throw internal_error("archive: record() of a row that does not exist");
  if (o.metrics.size() > metrics.size() || o.series.size() > series.size())
    throw internal_error("archive: outcome has more metrics or series than the layout");
  auto& r = rows[row];
  r.status = o.status;
  r.attempts = o.attempts;
  workers[row] = o.worker;
  host_index[row] = hosts.intern(
      o.host.size() >= fmt::host_size ? o.host.substr(0, fmt::host_size - 1) : o.host);
  started[row] = o.started;
  wall[row] = o.wall_seconds;
  if (o.error.empty()) {
    if (!errors.empty() && errors.erase(row) > 0) mark(row, Dirty::errored);
  } else {
    errors[row] = o.error.substr(0, fmt::error_size);
    mark(row, Dirty::errored);
  }
  for (std::size_t k = 0; k < metrics.size(); ++k)
    metrics[k][row] = k < o.metrics.size() ? o.metrics[k] : nan_value;
  for (std::size_t k = 0; k < series.size(); ++k) {
    auto& s = series[k];
    if (k < o.series.size() && !o.series[k].empty()) {
      s.offset[row] = s.total + static_cast<std::int64_t>(s.pending.size());
      s.length[row] = static_cast<std::int64_t>(o.series[k].size());
      s.pending.insert(s.pending.end(), o.series[k].begin(), o.series[k].end());
    } else {
      s.offset[row] = 0;
      s.length[row] = 0;
    }
  }
  mark(row, Dirty::recorded);
}

void RowStore::resize(std::size_t n) {
  rows.resize(n);
  seeds.resize(n);
  workers.resize(n);
  host_index.resize(n);
  started.resize(n);
  wall.resize(n);
  for (auto& p : params) p.resize(n);
  for (auto& m : metrics) m.resize(n);
  for (auto& s : series) {
    s.offset.resize(n);
    s.length.resize(n);
  }
  for (auto& d : dirty_) d.assign((n + chunk_ - 1) / chunk_, 0);
}

void RowStore::mark(std::size_t row, int kind) {
  dirty_[static_cast<std::size_t>(kind)][row / chunk_] = 1;
  any_dirty_ = true;
}

void RowStore::mark_all() {
  for (auto& d : dirty_) std::fill(d.begin(), d.end(), 1);
  any_dirty_ = true;
}

void RowStore::clear_dirty() {
  for (auto& d : dirty_) std::fill(d.begin(), d.end(), 0);
  any_dirty_ = false;
}

bool RowStore::has_pending_values() const {
  return std::any_of(series.begin(), series.end(), [](const auto& s) { return !s.pending.empty(); });
}

std::vector<std::pair<std::size_t, std::size_t>> RowStore::dirty_ranges(int kind,
                                                                        std::size_t n) const {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto& d = dirty_[static_cast<std::size_t>(kind)];
  for (std::size_t c0 = 0; c0 < d.size();) {
    if (!d[c0]) {
      ++c0;
      continue;
    }
    std::size_t c1 = c0;
    while (c1 < d.size() && d[c1]) ++c1;
    const std::size_t first = c0 * chunk_;
    const std::size_t last = std::min(c1 * chunk_, n);
    if (last > first) out.emplace_back(first, last - first);
    c0 = c1;
  }
  return out;
}

}  // namespace mpisweep::archive
