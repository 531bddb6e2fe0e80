#include "command_table.hpp"

#include "axis.hpp"

#include <mpisweep/core/error.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <type_traits>

namespace mpisweep::sweep::detail {

namespace {

bool identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The kinds of value a parameter may be given, from which its type follows.
enum class Kind { boolean, integer, real, string };

struct Declared {
  std::string where;
  std::vector<Value> values;  // every value the file gives it, in order
  std::set<Kind> kinds;
};

class TableReader {
 public:
  TableReader(const toml::table& root, const std::string& path,
              const std::function<std::string(const toml::node&)>& where)
      : root_(root), path_(path), where_(where) {}

  CommandKind read();

 private:
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    throw input_error(where_(n), what);
  }
  void declare_params();
  void note(const std::string& key, const toml::node& n, const std::string& w);
  std::vector<std::string> strings(const toml::node& n, const std::string& key) const;
  template <class Spec>
  std::vector<Spec> outputs(const toml::node& n, const std::string& key) const;
  bool dtype(const toml::node& n, const std::string& text) const;
  SeriesStorage::Compression compression(const toml::node& n, const std::string& text) const;
  int deflate_level(const toml::node& n, const SeriesStorage& storage) const;
  void check_template(const std::string& templ, const toml::node& n, const std::string& key,
                      std::set<std::string>& used) const;

  const toml::table& root_;
  std::string path_;
  const std::function<std::string(const toml::node&)>& where_;
  std::map<std::string, Declared> params_;
  std::vector<std::string> order_;  // parameters in the order the file names them
};

void TableReader::note(const std::string& key, const toml::node& n, const std::string& w) {
  auto& d = params_[key];
  if (d.where.empty()) {
    d.where = w;
    order_.push_back(key);
  }
  if (auto v = n.as_boolean()) {
    d.values.emplace_back(v->get());
    d.kinds.insert(Kind::boolean);
  } else if (auto i = n.as_integer()) {
    d.values.emplace_back(std::int64_t{i->get()});
    d.kinds.insert(Kind::integer);
  } else if (auto f = n.as_floating_point()) {
    d.values.emplace_back(f->get());
    d.kinds.insert(Kind::real);
  } else if (auto s = n.as_string()) {
    d.values.emplace_back(s->get());
    d.kinds.insert(Kind::string);
  }
  // Anything else (a nested table, ...) is reported by the main parser with its own message.
}

// A command's parameters are the keys of [params], [grid], [zip] and [random]; what the file
// gives them decides their type.
void TableReader::declare_params() {
  for (const char* section : {"params", "grid", "zip", "random"}) {
    const toml::node* s = root_.get(section);
    if (!s || !s->is_table()) continue;
    // Named zip groups ([zip.a]) hold their parameters one level down.
    std::vector<std::pair<std::string, const toml::node*>> entries;
    for (auto&& [k, node] : *s->as_table()) {
      const toml::table* group = node.as_table();
      if (std::string_view(section) == "zip" && group && !is_axis_rule(*group))
        for (auto&& [gk, gnode] : *group) entries.emplace_back(std::string(gk.str()), &gnode);
      else
        entries.emplace_back(std::string(k.str()), &node);
    }
    for (const auto& [key, np] : entries) {
      const toml::node& node = *np;
      if (std::string_view(section) == "random" && key == "count") continue;
      const std::string w = where_(node);
      if (!identifier(key))
        throw input_error(w, "parameter '" + key +
                                 "': a command's parameter names are "
                                 "identifiers (letters, digits, '_'), since {" +
                                 key + "} must be able to name it");
      for (const char* builtin : command::builtin_placeholders)
        if (key == builtin)
          throw input_error(w, "parameter '" + key + "': the name is reserved for the {" + key +
                                   "} placeholder; rename the parameter");
      if (const toml::array* a = node.as_array()) {
        for (auto& v : *a) note(key, v, w);
      } else if (const toml::table* t = node.as_table();
                 t && std::string_view(section) == "random") {
        // uniform/log_uniform give reals, int_uniform integers, choice its listed values.
        if (t->size() != 1) continue;
        const std::string dist(t->cbegin()->first.str());
        const toml::array* list = t->cbegin()->second.as_array();
        if (!list || list->empty()) continue;
        if (dist == "choice")
          for (auto& v : *list) note(key, v, w);
        else if (dist == "int_uniform")
          note(key, toml::value<std::int64_t>(list->get(0)->value_or<std::int64_t>(0)), w);
        else
          note(key, toml::value<double>(list->get(0)->value_or<double>(0.0)), w);
      } else if (const toml::table* rule = node.as_table(); rule && is_axis_rule(*rule)) {
        // A grid or zip rule (axis.hpp): range of integers gives integers, the rest reals.
        const toml::array* list = rule->cbegin()->second.as_array();
        bool integers = rule->cbegin()->first.str() == "range" && list;
        if (list)
          for (auto& v : *list) integers = integers && v.is_integer();
        const toml::node* first = list && !list->empty() ? list->get(0) : nullptr;
        if (!first) continue;  // malformed; the main parser says where
        if (integers)
          note(key, toml::value<std::int64_t>(first->value_or<std::int64_t>(0)), w);
        else
          note(key, toml::value<double>(first->value_or<double>(0.0)), w);
      } else {
        note(key, node, w);
      }
    }
  }
}

std::vector<std::string> TableReader::strings(const toml::node& n, const std::string& key) const {
  const toml::array* a = n.as_array();
  if (!a) fail(n, "'" + key + "': expected a list of strings");
  std::vector<std::string> out;
  for (auto& v : *a) {
    if (!v.is_string()) fail(n, "'" + key + "': expected a list of strings");
    out.push_back(v.as_string()->get());
  }
  return out;
}

// A series' storage keys (docs/your-experiment.md): dtype, compression and level.
bool TableReader::dtype(const toml::node& n, const std::string& text) const {
  if (text == "float64") return false;
  if (text == "float32") return true;
  fail(n, "'series': dtype \"" + text + "\" is not one of \"float64\", \"float32\"");
}

SeriesStorage::Compression TableReader::compression(const toml::node& n,
                                                    const std::string& text) const {
  using C = SeriesStorage::Compression;
  if (text == "none") return C::none;
  if (text == "deflate") return C::deflate;
  if (text == "shuffle+deflate") return C::shuffle_deflate;
  fail(n, "'series': compression \"" + text +
              "\" is not one of \"none\", \"deflate\", \"shuffle+deflate\"");
}

int TableReader::deflate_level(const toml::node& n, const SeriesStorage& storage) const {
  const auto* i = n.as_integer();
  if (!i || i->get() < 1 || i->get() > 9)
    fail(n, "'series': level must be an integer from 1 (fastest) to 9 (smallest)");
  if (storage.compression == SeriesStorage::Compression::none)
    fail(n, "'series': level needs compression = \"deflate\" or \"shuffle+deflate\"");
  return static_cast<int>(i->get());
}

// metrics = ["loss", { name = "acc", unit = "%", help = "test accuracy" }]
// series = ["curve", { name = "field", dtype = "float32", compression = "none" }]
template <class Spec>
std::vector<Spec> TableReader::outputs(const toml::node& n, const std::string& key) const {
  const toml::array* a = n.as_array();
  const std::string usage = "'" + key +
                            "': expected a list of names or { name = \"...\", unit = "
                            "\"...\", help = \"...\" } tables";
  if (!a) fail(n, usage);
  std::vector<Spec> out;
  for (auto& v : *a) {
    Spec s;
    if (auto str = v.as_string()) {
      s.name = str->get();
    } else if (auto t = v.as_table()) {
      constexpr bool is_series = std::is_same_v<Spec, SeriesSpec>;
      const toml::node* level = nullptr;
      for (auto&& [k, field] : *t) {
        const std::string field_name(k.str());
        if constexpr (is_series) {
          if (field_name == "level") {
            level = &field;
            continue;
          }
        }
        if (!field.is_string()) fail(field, "'" + key + "': '" + field_name + "' must be a string");
        const std::string text = field.as_string()->get();
        if (field_name == "name") {
          s.name = text;
        } else if (field_name == "unit") {
          s.unit = text;
        } else if (field_name == "help") {
          s.help = text;
        } else if constexpr (is_series) {
          if (field_name == "dtype")
            s.storage.float32 = dtype(field, text);
          else if (field_name == "compression")
            s.storage.compression = compression(field, text);
          else
            fail(field, "'series': unknown key '" + field_name +
                            "'; expected name, unit, help, dtype, compression or level");
        } else {
          fail(field,
               "'" + key + "': unknown key '" + field_name + "'; expected name, unit or help");
        }
      }
      if constexpr (is_series)
        if (level) s.storage.level = deflate_level(*level, s.storage);
    } else {
      fail(n, usage);
    }
    if (!identifier(s.name))
      fail(n, "'" + key + "': '" + s.name +
                  "' is not an identifier (letters, digits, '_', not "
                  "starting with a digit)");
    for (const auto& o : out)
      if (o.name == s.name) fail(n, "'" + key + "': '" + s.name + "' is listed twice");
    out.push_back(std::move(s));
  }
  return out;
}

void TableReader::check_template(const std::string& templ, const toml::node& n,
                                 const std::string& key, std::set<std::string>& used) const {
  std::vector<std::string> names;
  try {
    names = command::placeholders(templ);
  } catch (const error& e) {
    fail(n, "'" + key + "': " + e.what());
  }
  for (const auto& name : names) {
    bool builtin = false;
    for (const char* b : command::builtin_placeholders) builtin |= name == b;
    if (builtin) continue;
    if (!params_.count(name)) {
      std::string valid;
      for (const auto& p : order_) valid += "{" + p + "}, ";
      fail(n, "'" + key + "': unknown placeholder {" + name + "}; valid are " + valid +
                  "{seed}, {task_id} and {threads}");
    }
    used.insert(name);
  }
}

CommandKind TableReader::read() {
  const toml::node* node = root_.get("command");
  if (!node)
    throw input_error(path_, "experiment = \"command\" needs a [command] table with run = [...]");
  const toml::table* t = node->as_table();
  if (!t) fail(*node, "'command' must be a table ([command])");
  declare_params();

  CommandKind out;
  auto& spec = out.spec;
  std::set<std::string> used;
  const toml::node* run_node = nullptr;
  for (auto&& [k, v] : *t) {
    const std::string key(k.str());
    if (key == "run") {
      run_node = &v;
      spec.run = strings(v, key);
      if (spec.run.empty() || spec.run[0].empty())
        fail(v,
             "'run': expected the program and its arguments, e.g. "
             "[\"./sim\", \"--lr\", \"{lr}\"]");
      for (const auto& a : spec.run) check_template(a, v, key, used);
    } else if (key == "metrics") {
      spec.metrics = outputs<MetricSpec>(v, key);
    } else if (key == "series") {
      spec.series = outputs<SeriesSpec>(v, key);
    } else if (key == "workdir") {
      if (!v.is_string() || v.as_string()->get().empty()) fail(v, "'workdir': expected a path");
      spec.workdir = v.as_string()->get();
      check_template(spec.workdir, v, key, used);
      // Every task wipes and recreates its folder: two tasks must never share one.
      if (spec.workdir.find("{task_id}") == std::string::npos)
        fail(v, "'workdir': must contain {task_id}, so each task gets a folder of its own");
    } else if (key == "env") {
      const toml::table* e = v.as_table();
      if (!e) fail(v, "'env': expected a table of NAME = \"value\"");
      for (auto&& [name, value] : *e) {
        const std::string n(name.str());
        if (!value.is_string()) fail(value, "'env': " + n + " must be a string");
        if (!identifier(n)) fail(value, "'env': '" + n + "' is not a valid variable name");
        if (n.rfind("MPISWEEP_", 0) == 0 || n == "OMP_NUM_THREADS")
          fail(value, "'env': " + n + " is set by mpisweep for every task");
        spec.env.emplace_back(n, value.as_string()->get());
        check_template(spec.env.back().second, value, "env." + n, used);
      }
    } else if (key == "kill_grace") {
      if (!v.is_number() || !(v.value<double>().value() >= 0))
        fail(v, "'kill_grace': expected seconds (a number >= 0)");
      spec.kill_grace = v.value<double>().value();
    } else {
      fail(v, "unknown key '" + key +
                  "' in [command]; expected run, metrics, series, workdir, "
                  "env or kill_grace");
    }
  }
  if (!run_node) fail(*node, "[command] needs run = [\"program\", \"arg\", ...]");

  // Every parameter reaches the program as JSON on stdin and in MPISWEEP_PARAMS, so a program
  // that reads them there names none in `run`. But a `run` that passes some parameters as
  // arguments and not another almost always forgot one: that parameter would multiply the tasks
  // without changing what runs. So: name all of them in run/env/workdir, or none.
  if (!used.empty())
    for (const auto& name : order_)
      if (!used.count(name))
        throw input_error(params_.at(name).where,
                          "parameter '" + name +
                              "' is used nowhere: `run` passes other "
                              "parameters as {placeholders} but not {" +
                              name +
                              "}; add it to run "
                              "(or env), or pass none and read all from MPISWEEP_PARAMS/stdin");

  for (const auto& name : order_) {
    const Declared& d = params_.at(name);
    ParamSpec p;
    p.name = name;
    p.help = "given in the sweep file";
    const bool numeric = std::all_of(d.kinds.begin(), d.kinds.end(),
                                     [](Kind k) { return k == Kind::integer || k == Kind::real; });
    if (d.kinds.empty()) continue;  // malformed; the main parser says where
    if (d.kinds.size() > 1 && !numeric)
      throw input_error(d.where, "parameter '" + name +
                                     "': values of different types; give it "
                                     "all booleans, all numbers or all strings");
    const Kind k = d.kinds.size() > 1 ? Kind::real : *d.kinds.begin();
    p.type = k == Kind::boolean   ? ParamType::boolean
             : k == Kind::integer ? ParamType::integer
             : k == Kind::real    ? ParamType::real
                                  : ParamType::choice;
    p.default_value = d.values.front();
    if (p.type == ParamType::real && p.default_value.index() == 1)
      p.default_value = static_cast<double>(std::get<std::int64_t>(p.default_value));
    if (p.type == ParamType::choice)
      for (const auto& v : d.values)
        if (std::find(p.choices.begin(), p.choices.end(), std::get<std::string>(v)) ==
            p.choices.end())
          p.choices.push_back(std::get<std::string>(v));
    spec.params.push_back(std::move(p));
  }
  out.identity = command::identity(spec);
  out.experiment = command::make_command_experiment(spec);
  return out;
}

}  // namespace

CommandKind read_command_table(const toml::table& root, const std::string& path,
                               const std::function<std::string(const toml::node&)>& where) {
  return TableReader(root, path, where).read();
}

}  // namespace mpisweep::sweep::detail
