// The command kind's pure parts: templates, the parameter JSON, the spec's identity and wire
// form, and the checks on a result object. Launching lives in experiment.cpp and process.cpp.
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/command/json.hpp>

#include <cstdio>

namespace mpisweep::command {

std::vector<std::string> placeholders(const std::string& templ) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < templ.size(); ++i) {
    const char c = templ[i];
    if ((c == '{' || c == '}') && i + 1 < templ.size() && templ[i + 1] == c) {
      ++i;
      continue;
    }
    if (c == '}') throw error("'" + templ + "': a lone '}' (write '}}' for a literal brace)");
    if (c != '{') continue;
    const std::size_t close = templ.find('}', i + 1);
    if (close == std::string::npos)
      throw error("'" + templ + "': '{' without '}' (write '{{' for a literal brace)");
    names.push_back(templ.substr(i + 1, close - i - 1));
    i = close;
  }
  return names;
}

std::string expand(const std::string& templ, const Expansion& x) {
  std::string out;
  out.reserve(templ.size() + 16);
  for (std::size_t i = 0; i < templ.size(); ++i) {
    const char c = templ[i];
    if ((c == '{' || c == '}') && i + 1 < templ.size() && templ[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const std::size_t close = templ.find('}', i + 1);
    if (close == std::string::npos) throw error("'" + templ + "': '{' without '}'");
    const std::string name = templ.substr(i + 1, close - i - 1);
    if (name == "seed")
      out += std::to_string(x.seed);
    else if (name == "task_id")
      out += task_id_hex(x.task_id);
    else if (name == "threads")
      out += std::to_string(x.threads);
    else if (const Value* v = x.params ? x.params->find(name) : nullptr)
      out += format_value(*v);
    else
      throw error("'" + templ + "': unknown placeholder {" + name + "}");
    i = close;
  }
  return out;
}

namespace {

std::string json_value(const Value& v) {
  switch (v.index()) {
    case 0: return std::get<bool>(v) ? "true" : "false";
    case 1: return std::to_string(std::get<std::int64_t>(v));
    case 2: return json_real(std::get<double>(v));
    default: return json_quote(std::get<std::string>(v));
  }
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_quote(v[i]);
  return out + "]";
}

const Json* member(const JsonObject& o, const std::string& key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->second;
}

// Numbers the result object may hold: JSON numbers, and NaN/Infinity (see parse_json).
bool numeric(const Json& j) { return j.is_number(); }

}  // namespace

std::string params_json(const Params& params) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : params.items()) {
    out += (first ? "" : ", ") + json_quote(name) + ": " + json_value(value);
    first = false;
  }
  return out + "}";
}

std::string identity(const CommandSpec& spec) {
  std::vector<std::string> env, metrics, series;
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  for (const auto& m : spec.metrics) metrics.push_back(m.name);
  for (const auto& s : spec.series) series.push_back(s.name);
  return "command" + json_strings(spec.run) + json_strings(env) + json_strings(metrics) +
         json_strings(series);
}

std::string to_wire(const CommandSpec& spec) {
  auto outputs = [](const auto& list) {
    std::string out = "[";
    for (std::size_t i = 0; i < list.size(); ++i)
      out += std::string(i ? "," : "") + "[" + json_quote(list[i].name) + "," +
             json_quote(list[i].unit) + "," + json_quote(list[i].help) + "]";
    return out + "]";
  };
  std::string env = "[";
  for (std::size_t i = 0; i < spec.env.size(); ++i)
    env += std::string(i ? "," : "") + "[" + json_quote(spec.env[i].first) + "," +
           json_quote(spec.env[i].second) + "]";
  env += "]";
  // Defaults travel in their human form with the type, so integers beyond 2^53 stay exact.
  std::string params = "[";
  for (std::size_t i = 0; i < spec.params.size(); ++i) {
    const auto& p = spec.params[i];
    params += std::string(i ? "," : "") + "[" + json_quote(p.name) + "," +
              json_quote(to_string(p.type)) + "," + json_quote(format_value(p.default_value)) +
              "," + json_strings(p.choices) + "]";
  }
  params += "]";
  // A series' storage travels too: workers encode its chunks as the master's archive stores them.
  std::string series = "[";
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    const auto& s = spec.series[i];
    series += std::string(i ? "," : "") + "[" + json_quote(s.name) + "," + json_quote(s.unit) +
              "," + json_quote(s.help) + "," +
              std::to_string(static_cast<int>(s.storage.compression)) + "," +
              std::to_string(s.storage.level) + "," + (s.storage.float32 ? "true" : "false") + "]";
  }
  series += "]";
  return "{\"run\":" + json_strings(spec.run) + ",\"metrics\":" + outputs(spec.metrics) +
         ",\"series\":" + series + ",\"workdir\":" + json_quote(spec.workdir) + ",\"env\":" + env +
         ",\"params\":" + params + ",\"kill_grace\":" + json_real(spec.kill_grace) + "}";
}

CommandSpec from_wire(const std::string& text) {
  try {
    const Json doc = parse_json(text);
    const JsonObject& o = doc.object();
    CommandSpec spec;
    auto strings = [](const Json& j) {
      std::vector<std::string> out;
      for (const auto& s : j.array()) out.push_back(s.string());
      return out;
    };
    spec.run = strings(o.at("run"));
    for (const auto& m : o.at("metrics").array()) {
      MetricSpec ms;
      ms.name = m.array().at(0).string();
      ms.unit = m.array().at(1).string();
      ms.help = m.array().at(2).string();
      spec.metrics.push_back(std::move(ms));
    }
    for (const auto& s : o.at("series").array()) {
      SeriesSpec ss;
      ss.name = s.array().at(0).string();
      ss.unit = s.array().at(1).string();
      ss.help = s.array().at(2).string();
      ss.storage.compression =
          static_cast<SeriesStorage::Compression>(static_cast<int>(s.array().at(3).number()));
      ss.storage.level = static_cast<int>(s.array().at(4).number());
      ss.storage.float32 = std::get<bool>(s.array().at(5).value);
      spec.series.push_back(std::move(ss));
    }
    spec.workdir = o.at("workdir").string();
    for (const auto& e : o.at("env").array())
      spec.env.emplace_back(e.array().at(0).string(), e.array().at(1).string());
    for (const auto& p : o.at("params").array()) {
      const auto& a = p.array();
      ParamSpec ps;
      ps.name = a.at(0).string();
      const std::string type = a.at(1).string(), value = a.at(2).string();
      if (type == "bool") {
        ps.type = ParamType::boolean;
        ps.default_value = value == "true";
      } else if (type == "int") {
        ps.type = ParamType::integer;
        ps.default_value = static_cast<std::int64_t>(std::stoll(value));
      } else if (type == "real") {
        ps.type = ParamType::real;
        ps.default_value = std::strtod(value.c_str(), nullptr);
      } else {
        ps.type = ParamType::choice;
        ps.default_value = value;
      }
      ps.choices = strings(a.at(3));
      spec.params.push_back(std::move(ps));
    }
    spec.kill_grace = o.at("kill_grace").number();
    return spec;
  } catch (const std::exception& e) {
    throw internal_error(std::string("malformed command spec on the wire: ") + e.what());
  }
}

Result parse_result(const std::string& json_text, const CommandSpec& spec) {
  const Json doc = parse_json(json_text);
  if (!doc.is_object()) throw error("the result is not a JSON object");
  for (const auto& [key, value] : doc.object())
    if (key != "metrics" && key != "series")
      throw error("unexpected key \"" + key + "\" in the result; expected metrics and series");
  Result r;
  const JsonObject& top = doc.object();
  if (const Json* m = member(top, "metrics")) {
    if (!m->is_object()) throw error("\"metrics\" is not a JSON object");
    for (const auto& [name, value] : m->object()) {
      bool declared = false;
      for (const auto& d : spec.metrics) declared |= d.name == name;
      if (!declared) throw error("undeclared metric '" + name + "' in the result");
      if (!numeric(value)) throw error("metric '" + name + "' is not a number");
      r.metrics[name] = value.number();
    }
  }
  for (const auto& d : spec.metrics)
    if (!r.metrics.count(d.name)) throw error("missing metric '" + d.name + "' in the result");
  if (const Json* s = member(top, "series")) {
    if (!s->is_object()) throw error("\"series\" is not a JSON object");
    for (const auto& [name, value] : s->object()) {
      bool declared = false;
      for (const auto& d : spec.series) declared |= d.name == name;
      if (!declared) throw error("undeclared series '" + name + "' in the result");
      if (!value.is_array()) throw error("series '" + name + "' is not an array");
      std::vector<double> v;
      v.reserve(value.array().size());
      for (const auto& x : value.array()) {
        if (!numeric(x)) throw error("series '" + name + "' holds a value that is not a number");
        v.push_back(x.number());
      }
      r.series[name] = std::move(v);
    }
  }
  return r;
}

}  // namespace mpisweep::command
