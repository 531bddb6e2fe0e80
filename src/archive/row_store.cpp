#include "row_store.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

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

namespace {

// Which (column, value) pairs go together: exact types, and integers into real columns.
struct Fits {
  std::size_t str_size;
  bool operator()(const std::vector<std::int8_t>&, bool) const { return true; }
  bool operator()(const std::vector<std::int64_t>&, std::int64_t) const { return true; }
  bool operator()(const std::vector<double>&, double) const { return true; }
  bool operator()(const std::vector<double>&, std::int64_t) const { return true; }
  bool operator()(const std::vector<std::uint32_t>&, const std::string& s) const {
    return s.size() < str_size;
  }
  bool operator()(const auto&, const auto&) const { return false; }
};

struct Append {
  StringTable& table;
  void operator()(std::vector<std::int8_t>& d, bool b) const { d.push_back(b ? 1 : 0); }
  void operator()(std::vector<std::int64_t>& d, std::int64_t i) const { d.push_back(i); }
  void operator()(std::vector<double>& d, double x) const { d.push_back(x); }
  void operator()(std::vector<double>& d, std::int64_t i) const {
    d.push_back(static_cast<double>(i));
  }
  void operator()(std::vector<std::uint32_t>& d, const std::string& s) const {
    d.push_back(table.intern(s));
  }
  void operator()(auto&, const auto&) const {
    throw internal_error("archive: a parameter value of the wrong type (not accepts()ed)");
  }
};

// The empty column of alternative `index` (the variant's alternatives are in ParamType order).
template <std::size_t... I>
ParamRows::Data data_for(std::size_t index, std::index_sequence<I...>) {
  ParamRows::Data d;
  if (!((index == I ? (d.template emplace<I>(), true) : false) || ...))
    throw internal_error("archive: unknown ParamType");
  return d;
}

}  // namespace

ParamRows::ParamRows(const ParamSpec& spec)
    : data(data_for(static_cast<std::size_t>(spec.type),
                    std::make_index_sequence<std::variant_size_v<Data>>{})) {
  if (spec.type != ParamType::choice) return;
  str_size = choice_size(spec);
  for (const auto& c : spec.choices) table.intern(c);
}

bool ParamRows::accepts(const Value& v) const { return std::visit(Fits{str_size}, data, v); }

void ParamRows::push(const Value& v) { std::visit(Append{table}, data, v); }

Value ParamRows::value(std::size_t row) const {
  return std::visit(
      [&](const auto& d) -> Value {
        using T = typename std::decay_t<decltype(d)>::value_type;
        if constexpr (std::is_same_v<T, std::int8_t>)
          return Value{d[row] != 0};
        else if constexpr (std::is_same_v<T, std::uint32_t>)
          return Value{table.strings[d[row]]};
        else
          return Value{d[row]};
      },
      data);
}

void ParamRows::resize(std::size_t n) {
  std::visit([n](auto& d) { d.resize(n); }, data);
}

void SeriesRows::resume_at(std::int64_t extent) {
  total = extent;
  next = extent;  // a short array may go into the padding of the last chunk: HDF5 rewrites it
}

RowStore::RowStore(const Layout& layout, std::size_t chunk) : layout_(layout), chunk_(chunk) {
  hosts.intern("");
  for (const auto& spec : layout_.params) params.emplace_back(spec);
  metrics.resize(layout_.metrics.size());
  series.resize(layout_.series.size());
  for (std::size_t k = 0; k < series.size(); ++k)
    series[k].chunk = chunk_codec::chunk_elements(layout_.series[k]);
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
  // Column by column: each loop appends to one vector (the outcome columns take their fill
  // values in one resize), rather than a dozen vectors touched per task.
  const std::size_t n = first + tasks.size();
  for (const auto& t : tasks) rows.push_back({t.id, TaskStatus::pending, 0});
  for (const auto& t : tasks) seeds.push_back(t.seed);
  for (std::size_t k = 0; k < params.size(); ++k)
    for (const auto& t : tasks) params[k].push(t.params[k]);
  workers.resize(n, -1);
  host_index.resize(n, 0);
  started.resize(n, nan_value);
  wall.resize(n, nan_value);
  progress.resize(n, nan_value);
  for (auto& col : metrics) col.resize(n, nan_value);
  for (auto& s : series) {
    s.offset.resize(n, 0);
    s.length.resize(n, 0);
  }
  for (auto& d : dirty_) d.resize((rows.size() + chunk_ - 1) / chunk_, 0);
  for (std::size_t r = first; r < rows.size(); r += chunk_) mark(r, Dirty::added);
  if (rows.size() > first) mark(rows.size() - 1, Dirty::added);
  return first;
}

void RowStore::record(std::size_t row, const Outcome& o) {
  if (row >= rows.size()) throw internal_error("archive: record() of a row that does not exist");
  if (o.metrics.size() > metrics.size() || o.series.size() > series.size() ||
      o.encoded.size() > series.size())
    throw internal_error("archive: outcome has more metrics or series than the layout");
  // Checked before anything changes, so a bad outcome leaves the row as it was.
  for (std::size_t k = 0; k < o.encoded.size(); ++k)
    if (o.encoded[k] && o.encoded[k]->length > 0 && o.encoded[k]->chunk_elements != series[k].chunk)
      throw internal_error("archive: series '" + layout_.series[k].name +
                           "' encoded in chunks of " +
                           std::to_string(o.encoded[k]->chunk_elements) +
                           " values, the archive's are " + std::to_string(series[k].chunk));
  auto& r = rows[row];
  r.status = o.status;
  r.attempts = o.attempts;
  workers[row] = o.worker;
  // Results come in runs from one host: compare with the last one before hashing.
  const std::string_view host = std::string_view(o.host).substr(0, fmt::host_size - 1);
  if (host != hosts.strings[last_host_]) last_host_ = hosts.intern(std::string(host));
  host_index[row] = last_host_;
  started[row] = o.started;
  wall[row] = o.wall_seconds;
  if (!std::isnan(progress[row])) {
    progress[row] = nan_value;
    mark(row, Dirty::progressed);
  }
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
    std::shared_ptr<const chunk_codec::Encoded> e;
    const std::vector<double>* values = k < o.series.size() ? &o.series[k] : nullptr;
    if (k < o.placed.size() && o.placed[k].offset >= 0) {
      // Stored by the worker in its block file (series_files.hpp): only the place is recorded.
      s.offset[row] = o.placed[k].offset;
      s.length[row] = o.placed[k].length;
      continue;
    } else if (k < o.encoded.size() && o.encoded[k] && o.encoded[k]->length > 0) {
      e = o.encoded[k];
    } else if (values && static_cast<std::int64_t>(values->size()) >= s.chunk) {
      // A library caller's long array (the runtime's workers encode their own).
      e = std::make_shared<const chunk_codec::Encoded>(
          chunk_codec::encode_series(*values, layout_.series[k]));
    }
    if (e) {
      s.offset[row] = (s.next + s.chunk - 1) / s.chunk * s.chunk;
      s.length[row] = e->length;
      s.next = s.offset[row] + static_cast<std::int64_t>(e->chunks()) * s.chunk;
      s.pending.push_back({s.offset[row], std::move(e), 0, 0});
    } else if (values && !values->empty()) {
      s.offset[row] = s.next;
      s.length[row] = static_cast<std::int64_t>(values->size());
      s.next += s.length[row];
      s.pending.push_back({s.offset[row], nullptr, s.raw.size(), s.length[row]});
      s.raw.insert(s.raw.end(), values->begin(), values->end());
    } else {
      s.offset[row] = 0;
      s.length[row] = 0;
    }
  }
  mark(row, Dirty::recorded);
}

void RowStore::set_progress(std::size_t row, float fraction) {
  if (row >= rows.size()) throw internal_error("archive: progress of a row that does not exist");
  progress[row] = fraction;
  mark(row, Dirty::progressed);
}

void RowStore::clear_progress() {
  for (std::size_t row = 0; row < progress.size(); ++row)
    if (!std::isnan(progress[row])) {
      progress[row] = nan_value;
      mark(row, Dirty::progressed);
    }
}

void RowStore::reserve(std::size_t n) {
  rows.reserve(n);
  seeds.reserve(n);
  workers.reserve(n);
  host_index.reserve(n);
  started.reserve(n);
  wall.reserve(n);
  progress.reserve(n);
  for (auto& p : params) std::visit([n](auto& d) { d.reserve(n); }, p.data);
  for (auto& m : metrics) m.reserve(n);
  for (auto& s : series) {
    s.offset.reserve(n);
    s.length.reserve(n);
  }
}

void RowStore::resize(std::size_t n) {
  rows.resize(n);
  seeds.resize(n);
  workers.resize(n);
  host_index.resize(n);
  started.resize(n);
  wall.resize(n);
  progress.resize(n, nan_value);
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
  return std::any_of(series.begin(), series.end(),
                     [](const auto& s) { return !s.pending.empty(); });
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
