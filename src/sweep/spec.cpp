#include <mpisweep/core/error.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/experiments/registry.hpp>
#include <mpisweep/sweep/spec.hpp>

#include "axis.hpp"
#include "command_table.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_set>

namespace mpisweep::sweep {

namespace {

// [sweep] order and cost together: a cost needs order = "longest_first", and names "measured" or
// a numeric parameter of the experiment (its value is taken as proportional to a task's time).
template <class WhereOf>
void check_order(Spec& spec, const Experiment& exp, const toml::table* sw, WhereOf where_of) {
  const toml::node* cost = sw->get("cost");
  if (!cost) {
    if (spec.longest_first) spec.cost = "measured";
    return;
  }
  const std::string w = where_of("cost", *cost);
  if (!spec.longest_first)
    throw input_error(w, "'cost': only used with order = \"longest_first\"; add it or drop cost");
  if (spec.cost == "measured") return;
  std::string numeric;
  for (const auto& p : exp.params) {
    const bool is_number = p.type == ParamType::integer || p.type == ParamType::real;
    if (p.name == spec.cost) {
      if (is_number) return;
      throw input_error(w, "'cost': parameter '" + p.name + "' is not a number");
    }
    if (is_number) numeric += (numeric.empty() ? "" : ", ") + p.name;
  }
  throw input_error(w, "'cost': '" + spec.cost + "' is not a parameter of " + exp.name +
                           "; expected \"measured\" or one of: " + numeric);
}

// A parameter value as the file gives it, with where it was given.
struct Given {
  Value value;
  std::string where;
};

class Parser {
 public:
  Parser(std::string path, const std::vector<std::string>& overrides)
      : path_(std::move(path)), overrides_(overrides) {}

  Spec parse(const std::string& text);

 private:
  std::string where(const toml::node& n) const {
    const auto line = n.source().begin.line;
    return line ? path_ + ":" + std::to_string(line) : where_override_;
  }
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    throw input_error(where(n), what);
  }
  Value to_value(const toml::node& n, const std::string& key) const;
  const toml::table* section(toml::table& root, std::string_view name) const;
  void apply_overrides(toml::table& root);
  std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& t) const;

  std::string path_;
  std::vector<std::string> overrides_;
  std::string where_override_ = "--set";
  std::map<std::string, std::string> override_where_;  // key -> "--set key=value"
};

Value Parser::to_value(const toml::node& n, const std::string& key) const {
  if (auto v = n.as_boolean()) return v->get();
  if (auto v = n.as_integer()) return std::int64_t{v->get()};
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_string()) return v->get();
  fail(n, "'" + key + "': expected a boolean, number or string");
}

std::vector<std::pair<std::string, const toml::node*>> Parser::in_file_order(
    const toml::table& t) const {
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (auto&& [k, v] : t) out.emplace_back(std::string(k.str()), &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto la = a.second->source().begin, lb = b.second->source().begin;
    return la.line < lb.line || (la.line == lb.line && la.column < lb.column);
  });
  return out;
}

const toml::table* Parser::section(toml::table& root, std::string_view name) const {
  toml::node* n = root.get(name);
  if (!n) return nullptr;
  if (!n->is_table())
    fail(*n, "'" + std::string(name) + "' must be a table ([" + std::string(name) + "])");
  return n->as_table();
}

// --set KEY=VALUE edits the document before it is read: a parameter replaces whatever the file
// says of it (a list makes it a grid axis); sweep.KEY replaces a [sweep] entry.
void Parser::apply_overrides(toml::table& root) {
  for (const auto& o : overrides_) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) throw input_error("--set " + o, "expected KEY=VALUE");
    std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + text);
    } catch (const toml::parse_error&) {
      parsed = toml::table{{"v", text}};  // a bare word: take it as a string
    }
    toml::node& value = *parsed.get("v");
    auto ensure = [&](const char* name) -> toml::table& {
      if (!root.contains(name)) root.insert(name, toml::table{});
      if (!root.get(name)->is_table())
        throw input_error(path_, std::string("'") + name + "' must be a table");
      return *root.get(name)->as_table();
    };
    if (key.rfind("sweep.", 0) == 0) {
      ensure("sweep").insert_or_assign(key.substr(6), value);
      override_where_[key.substr(6)] = "--set " + o;
      continue;
    }
    if (key.rfind("params.", 0) == 0) key = key.substr(7);
    for (const char* s : {"params", "grid", "zip", "random"})
      if (auto t = root.get(s); t && t->is_table()) t->as_table()->erase(key);
    // Named zip groups ([zip.a]) hold it one level down; a group it leaves empty goes too.
    if (auto z = root.get("zip"); z && z->is_table()) {
      std::vector<std::string> emptied;
      for (auto&& [g, group] : *z->as_table())
        if (auto gt = group.as_table(); gt && !detail::is_axis_rule(*gt)) {
          gt->erase(key);
          if (gt->empty()) emptied.emplace_back(g.str());
        }
      for (const auto& g : emptied) z->as_table()->erase(g);
    }
    // A list or a rule ({ logspace = [...] }) makes a grid axis; anything else a fixed value.
    if (value.is_array() || value.is_table())
      ensure("grid").insert_or_assign(key, value);
    else
      ensure("params").insert_or_assign(key, value);
    override_where_[key] = "--set " + o;
  }
}

// One factor of the cartesian product: rows of (parameter, value) assignments.
using Row = std::vector<std::pair<std::string, Given>>;
using Factor = std::vector<Row>;

Spec Parser::parse(const std::string& text) {
  toml::table root;
  try {
    root = toml::parse(text, path_);
  } catch (const toml::parse_error& e) {
    throw input_error(path_ + ":" + std::to_string(e.source().begin.line),
                      std::string(e.description()));
  }
  apply_overrides(root);
  auto where_of = [&](const std::string& key, const toml::node& n) {
    auto it = override_where_.find(key);
    return it != override_where_.end() && !n.source().begin.line ? it->second : where(n);
  };

  for (auto&& [k, v] : root) {
    static const std::unordered_set<std::string_view> known = {"sweep", "params", "grid",
                                                               "zip",   "random", "command"};
    if (!known.count(k.str()))
      fail(v, "unknown section '" + std::string(k.str()) +
                  "'; expected [sweep], [params], [grid], [zip], [random] or [command]");
  }

  Spec spec;
  spec.text = text;
  spec.path = path_;
  spec.hash = fnv1a64(text);
  for (const auto& o : overrides_) spec.hash = fnv1a64("\n--set " + o, spec.hash);

  // [sweep]
  const toml::table* sw = section(root, "sweep");
  if (!sw) throw input_error(path_, "missing [sweep] section with name and experiment");
  std::int64_t nseeds = 1, base_seed = 1;
  constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
  std::vector<std::uint64_t> seed_list;
  for (auto& [key, node] : in_file_order(*sw)) {
    const toml::node& n = *node;
    const std::string w = where_of(key, n);
    auto need_string = [&]() {
      if (!n.is_string()) throw input_error(w, "'" + key + "': expected a string");
      return n.as_string()->get();
    };
    auto need_int = [&](std::int64_t lo, std::int64_t hi) {
      if (!n.is_integer()) throw input_error(w, "'" + key + "': expected an integer");
      const std::int64_t x = n.as_integer()->get();
      if (x < lo || x > hi)
        throw input_error(
            w, "'" + key + "': expected " +
                   (x < lo ? "at least " + std::to_string(lo) : "at most " + std::to_string(hi)) +
                   ", found " + std::to_string(x));
      return x;
    };
    auto second_of = [&](const std::string& a, const std::string& b) {  // one of two words
      const std::string v = need_string();
      if (v != a && v != b)
        throw input_error(
            w, "'" + key + "': expected \"" + a + "\" or \"" + b + "\", found \"" + v + "\"");
      return v == b;
    };
    if (key == "name") {
      spec.name = need_string();
      const bool ok =
          !spec.name.empty() && std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
          });
      if (!ok) throw input_error(w, "'name': use letters, digits, '-', '_' and '.' only");
      if (spec.name.size() > max_name_length)
        throw input_error(w, "'name': " + std::to_string(spec.name.size()) +
                                 " characters; a sweep name has at most " +
                                 std::to_string(max_name_length) + " (it names the archive file)");
    } else if (key == "experiment") {
      spec.experiment = need_string();
    } else if (key == "archive") {
      spec.archive = need_string();
      if (spec.archive.empty()) throw input_error(w, "'archive': expected a path");
    } else if (key == "description") {
      need_string();
    } else if (key == "base_seed") {
      base_seed = need_int(0, int64_max);
    } else if (key == "seeds") {
      if (auto arr = n.as_array()) {
        if (arr->empty()) throw input_error(w, "'seeds': the list is empty");
        for (auto& s : *arr) {
          if (!s.is_integer() || s.as_integer()->get() < 0)
            throw input_error(w, "'seeds': expected non-negative integers");
          seed_list.push_back(static_cast<std::uint64_t>(s.as_integer()->get()));
        }
      } else {
        nseeds = need_int(1, int64_max);
      }
    } else if (key == "task_timeout") {
      if (!n.is_number()) throw input_error(w, "'task_timeout': expected seconds (a number)");
      const double t = n.value<double>().value();
      if (!(t > 0)) throw input_error(w, "'task_timeout': expected a positive number of seconds");
      spec.task_timeout = t;
    } else if (key == "retries") {
      spec.retries = static_cast<int>(need_int(0, max_retries));
    } else if (key == "order") {
      spec.longest_first = second_of("index", "longest_first");
    } else if (key == "cost") {
      spec.cost = need_string();  // checked against the experiment's parameters below
    } else if (key == "series_files") {
      spec.series_files = second_of("archive", "per_rank");
    } else {
      throw input_error(w, "unknown key '" + key +
                               "' in [sweep]; expected name, experiment, archive, seeds, "
                               "base_seed, task_timeout, retries, order, cost, series_files or "
                               "description");
    }
  }
  if (spec.name.empty()) throw input_error(where(*sw), "[sweep] needs name = \"...\"");
  if (spec.experiment.empty()) throw input_error(where(*sw), "[sweep] needs experiment = \"...\"");
  const Experiment* exp = nullptr;
  // experiment = "command": the file declares the kind itself, and what it runs (the identity)
  // takes the kind's name's place in every task id (command_table.cpp).
  std::optional<detail::CommandKind> command_kind;
  if (spec.experiment == "command") {
    command_kind =
        detail::read_command_table(root, path_, [&](const toml::node& n) { return where(n); });
    exp = &command_kind->experiment;
    spec.command = command_kind->spec;
  } else if (const toml::node* c = root.get("command")) {
    fail(*c, "[command] is only for experiment = \"command\"");
  }
  try {
    if (!exp) exp = &find_experiment(spec.experiment);
  } catch (const input_error& e) {
    throw input_error(where_of("experiment", *sw->get("experiment")), e.what());
  }
  check_order(spec, *exp, sw, where_of);
  const std::string kind_identity = command_kind ? command_kind->identity : spec.experiment;
  if (spec.archive.empty()) spec.archive = "results/" + spec.name + ".h5";
  // Counted before anything is expanded: a typo in a count fails here, not in the allocator.
  const auto too_many = [](std::uint64_t n) {
    return "more than " + std::to_string(max_tasks) +
           " tasks, the most one sweep may have; split it into several sweeps" +
           (n ? " (" + std::to_string(n) + " seeds alone)" : std::string());
  };
  // Seeds are base_seed, base_seed + 1, ...: the last must still be a TOML integer (int64).
  if (seed_list.empty() && nseeds - 1 > int64_max - base_seed) {
    const toml::node* b = sw->get("base_seed");
    throw input_error(b ? where_of("base_seed", *b) : where_of("seeds", *sw->get("seeds")),
                      "'base_seed': base_seed + seeds - 1 must be at most " +
                          std::to_string(int64_max) + "; lower base_seed");
  }
  {
    std::unordered_set<std::uint64_t> seen;
    for (auto s : seed_list)
      if (!seen.insert(s).second)
        throw input_error(where_of("seeds", *sw->get("seeds")),
                          "'seeds': seed " + std::to_string(s) + " is listed twice");
  }
  // base_seed, base_seed + 1, ... are listed once the whole sweep is counted (below).
  const std::uint64_t seed_count =
      seed_list.empty() ? static_cast<std::uint64_t>(nseeds) : seed_list.size();
  if (seed_count > max_tasks)
    throw input_error(where_of("seeds", *sw->get("seeds")), "'seeds': " + too_many(seed_count));

  // Which parameters exist, so misspellings are caught where they are written.
  std::vector<std::string> valid;
  for (const auto& p : exp->params) valid.push_back(p.name);
  auto check_name = [&](const std::string& key, const std::string& w) {
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) return;
    const std::string list = join(valid);
    throw input_error(w, "unknown parameter '" + key + "' for experiment " + exp->name +
                             "; valid parameters are: " + (list.empty() ? "(none)" : list));
  };
  std::map<std::string, std::string> defined_at;  // parameter -> where it is given
  auto define = [&](const std::string& key, const std::string& w) {
    check_name(key, w);
    auto [it, fresh] = defined_at.emplace(key, w);
    if (!fresh) throw input_error(w, "parameter '" + key + "' is also given at " + it->second);
  };

  Row fixed;
  if (const toml::table* t = section(root, "params")) {
    for (auto& [key, node] : in_file_order(*t)) {
      const std::string w = where_of(key, *node);
      define(key, w);
      if (node->is_array() || node->is_table())
        throw input_error(w, "'" + key + "': [params] takes single values; put lists under [grid]");
      fixed.push_back({key, {to_value(*node, key), w}});
    }
  }

  std::vector<Factor> factors;
  // Tasks so far (seeds × the factors' sizes), checked as each factor is read and before the
  // [random] rows are allocated, so no product overflows and nothing large is built first.
  std::uint64_t ntasks = seed_count;
  auto grow = [&](std::uint64_t n, const std::string& key, const toml::node& at) {
    if (n > max_tasks / ntasks)
      throw input_error(where_of(key, at), "'" + key + "': the sweep would have " + too_many(0));
    ntasks *= n;
  };
  // An axis of [grid] or [zip]: a list, or a rule (axis.hpp) counted before it is expanded.
  auto axis_count = [&](const std::string& key, const toml::node& n, const std::string& w,
                        const std::string& section_name) -> std::uint64_t {
    if (const toml::array* arr = n.as_array()) {
      if (arr->empty())
        throw input_error(
            w, "'" + key +
                   "': " + (section_name == "[grid]" ? "the grid is empty" : "the list is empty"));
      return arr->size();
    }
    if (const toml::table* rule = n.as_table()) return detail::axis_rule_count(*rule, key, w);
    throw input_error(w, "'" + key + "': " + section_name +
                             " takes a list of values, e.g. [1, 2], " + detail::axis_rule_forms);
  };
  auto axis_values = [&](const std::string& key, const toml::node& n, const std::string& w) {
    std::vector<Value> out;
    if (const toml::array* arr = n.as_array())
      for (auto& v : *arr) out.push_back(to_value(v, key));
    else
      out = detail::axis_rule_values(*n.as_table(), key, w);
    return out;
  };
  if (const toml::table* t = section(root, "grid")) {
    for (auto& [key, node] : in_file_order(*t)) {
      const std::string w = where_of(key, *node);
      define(key, w);
      grow(axis_count(key, *node, w, "[grid]"), key, *node);
      Factor f;
      for (auto& v : axis_values(key, *node, w)) f.push_back({{key, {std::move(v), w}}});
      factors.push_back(std::move(f));
    }
  }
  // [zip] lists vary together, as do the lists of each named group [zip.NAME]; groups are
  // crossed with each other and with the grid.
  auto read_zip = [&](const std::vector<std::pair<std::string, const toml::node*>>& axes,
                      const std::string& section_name) {
    std::uint64_t len = 0;
    std::string first;
    Factor f;
    for (auto& [key, node] : axes) {
      const std::string w = where_of(key, *node);
      define(key, w);
      const std::uint64_t n = axis_count(key, *node, w, section_name);
      if (first.empty()) {
        first = key;
        len = n;
        grow(len, key, *node);
        f.resize(len);
      } else if (n != len) {
        throw input_error(w, "'" + key + "' has " + std::to_string(n) + " values but '" + first +
                                 "' has " + std::to_string(len) + "; lists in " + section_name +
                                 " must have equal lengths");
      }
      auto values = axis_values(key, *node, w);
      for (std::size_t i = 0; i < len; ++i) f[i].push_back({key, {std::move(values[i]), w}});
    }
    if (!f.empty()) factors.push_back(std::move(f));
  };
  if (const toml::table* t = section(root, "zip")) {
    std::vector<std::pair<std::string, const toml::node*>> plain;
    std::vector<std::pair<std::string, const toml::table*>> groups;
    for (auto& [key, node] : in_file_order(*t)) {
      const toml::table* g = node->as_table();
      if (g && !detail::is_axis_rule(*g))
        groups.emplace_back(key, g);
      else
        plain.emplace_back(key, node);
    }
    read_zip(plain, "[zip]");
    for (auto& [name, g] : groups) {
      if (g->empty()) fail(*g, "[zip." + name + "] is empty; give it lists of equal length");
      read_zip(in_file_order(*g), "[zip." + name + "]");
    }
  }
  if (const toml::table* t = section(root, "random")) {
    std::int64_t count = -1;
    std::vector<std::pair<std::string, const toml::node*>> dists;
    for (auto& [key, node] : in_file_order(*t)) {
      const std::string w = where_of(key, *node);
      if (key == "count") {
        if (!node->is_integer() || node->as_integer()->get() < 1)
          throw input_error(w, "'count': expected a positive integer");
        count = node->as_integer()->get();
        continue;
      }
      define(key, w);
      dists.emplace_back(key, node);
    }
    if (count < 0) throw input_error(where(*t), "[random] needs count = N");
    grow(static_cast<std::uint64_t>(count), "count", *t->get("count"));
    Factor f(static_cast<std::size_t>(count));
    for (auto& [key, node] : dists) {
      const std::string w = where_of(key, *node);
      const toml::table* d = node->as_table();
      const char* usage =
          "expected { uniform = [lo, hi] }, { log_uniform = [lo, hi] }, { int_uniform = [lo, hi] } "
          "or { choice = [...] }";
      if (!d || d->size() != 1) throw input_error(w, "'" + key + "': " + usage);
      auto first_entry = d->begin();
      const std::string kind(first_entry->first.str());
      const toml::array* a = first_entry->second.as_array();
      if (!a || a->empty()) throw input_error(w, "'" + key + "': " + usage);
      // Each parameter draws from its own stream, so adding a parameter to [random] leaves the
      // others' values as they were.
      const std::uint64_t stream_seed =
          derive_seed(static_cast<std::uint64_t>(base_seed), fnv1a64("random:" + key));
      std::vector<Value> choices;
      double lo = 0, hi = 0;
      if (kind == "choice") {
        for (auto& c : *a) choices.push_back(to_value(c, key));
      } else if (kind == "uniform" || kind == "log_uniform" || kind == "int_uniform") {
        if (a->size() != 2 || !a->get(0)->is_number() || !a->get(1)->is_number())
          throw input_error(w, "'" + key + "': " + kind + " takes [lo, hi]");
        lo = a->get(0)->value<double>().value();
        hi = a->get(1)->value<double>().value();
        if (!(lo < hi) || (kind == "log_uniform" && lo <= 0))
          throw input_error(w, "'" + key + "': " + kind + " needs " +
                                   (kind == "log_uniform" ? "0 < lo < hi" : "lo < hi"));
        if (kind == "int_uniform" && (!a->get(0)->is_integer() || !a->get(1)->is_integer()))
          throw input_error(w, "'" + key + "': int_uniform takes integers");
      } else {
        throw input_error(w, "'" + key + "': unknown distribution '" + kind + "'; " + usage);
      }
      for (std::size_t i = 0; i < f.size(); ++i) {
        Rng rng(stream_seed, i);
        Value v;
        if (kind == "choice")
          v = choices[rng.below(choices.size())];
        else if (kind == "uniform")
          v = rng.uniform(lo, hi);
        else if (kind == "log_uniform")
          v = std::exp(rng.uniform(std::log(lo), std::log(hi)));
        else
          v = static_cast<std::int64_t>(lo) +
              static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi - lo) + 1));
        f[i].push_back({key, {v, w}});
      }
    }
    factors.push_back(std::move(f));
  }

  if (seed_list.empty())
    for (std::int64_t i = 0; i < nseeds; ++i)
      seed_list.push_back(static_cast<std::uint64_t>(base_seed + i));
  spec.seeds = std::move(seed_list);

  // Expand the cartesian product (first factor slowest) and check every point.
  spec.param_names = valid;
  std::size_t npoints = 1;  // at most max_tasks (grow() above), so it fits Task::point
  for (const auto& f : factors) npoints *= f.size();
  spec.points.reserve(npoints);
  std::vector<std::uint64_t> hashes;
  hashes.reserve(npoints);
  std::vector<std::size_t> idx(factors.size(), 0);
  for (std::size_t p = 0; p < npoints; ++p) {
    Params given;
    std::map<std::string, std::string> at;
    for (const auto& [k, g] : fixed) {
      given.set(k, g.value);
      at[k] = g.where;
    }
    for (std::size_t f = 0; f < factors.size(); ++f)
      for (const auto& [k, g] : factors[f][idx[f]]) {
        given.set(k, g.value);
        at[k] = g.where;
      }
    Params resolved;
    try {
      resolved = resolve_experiment_params(*exp, given);
    } catch (const param_error& e) {
      auto it = at.find(e.param());
      throw input_error(it != at.end() ? it->second : path_, e.what());
    }
    std::vector<Value> values;
    values.reserve(valid.size());
    for (const auto& name : valid) values.push_back(resolved.at(name));
    hashes.push_back(point_hash(kind_identity, valid, values));
    spec.points.push_back(std::move(values));
    for (std::size_t f = factors.size(); f-- > 0;) {
      if (++idx[f] < factors[f].size()) break;
      idx[f] = 0;
    }
  }
  {
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t p = 0; p < hashes.size(); ++p)
      if (!seen.insert(hashes[p]).second) {
        std::string desc;
        for (std::size_t i = 0; i < valid.size(); ++i)
          desc += (desc.empty() ? "" : ", ") + valid[i] + "=" + format_value(spec.points[p][i]);
        throw input_error(path_, "the sweep lists the same parameter point twice (" + desc + ")");
      }
  }
  spec.tasks.reserve(npoints * spec.seeds.size());
  for (auto seed : spec.seeds)
    for (std::size_t p = 0; p < npoints; ++p)
      spec.tasks.push_back({task_id(hashes[p], seed), seed, static_cast<std::uint32_t>(p)});
  return spec;
}

}  // namespace

Spec parse_spec(const std::string& text, const std::string& path,
                const std::vector<std::string>& overrides) {
  return Parser(path, overrides).parse(text);
}

Spec load_spec(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw input_error(path, "is a directory, not a sweep file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw input_error(path, std::string("cannot read the sweep file: ") +
                                (errno ? std::strerror(errno) : "unknown reason"));
  std::ostringstream s;
  s << in.rdbuf();
  return parse_spec(s.str(), path, overrides);
}

}  // namespace mpisweep::sweep
