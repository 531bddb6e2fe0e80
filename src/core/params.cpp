#include <mpisweep/core/error.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/text.hpp>

#include <algorithm>

namespace mpisweep {

namespace {
auto lower(std::vector<Params::Item>& items, std::string_view name) {
  return std::lower_bound(items.begin(), items.end(), name,
                          [](const Params::Item& a, std::string_view b) { return a.first < b; });
}
}  // namespace

void Params::set(std::string name, Value v) {
  auto it = lower(items_, name);
  if (it != items_.end() && it->first == name)
    it->second = std::move(v);
  else
    items_.insert(it, {std::move(name), std::move(v)});
}

const Value* Params::find(std::string_view name) const {
  auto it = lower(const_cast<std::vector<Item>&>(items_), name);
  return it != items_.end() && it->first == name ? &it->second : nullptr;
}

const Value& Params::at(std::string_view name) const {
  if (const Value* v = find(name)) return *v;
  throw internal_error("parameter '" + std::string(name) + "' is not set");
}

bool Params::get_bool(std::string_view name) const {
  const Value& v = at(name);
  if (auto p = std::get_if<bool>(&v)) return *p;
  throw internal_error("parameter '" + std::string(name) + "' is not a boolean");
}

std::int64_t Params::get_int(std::string_view name) const {
  const Value& v = at(name);
  if (auto p = std::get_if<std::int64_t>(&v)) return *p;
  throw internal_error("parameter '" + std::string(name) + "' is not an integer");
}

double Params::get_real(std::string_view name) const {
  const Value& v = at(name);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
  throw internal_error("parameter '" + std::string(name) + "' is not a number");
}

const std::string& Params::get_string(std::string_view name) const {
  const Value& v = at(name);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  throw internal_error("parameter '" + std::string(name) + "' is not a string");
}

Params resolve_params(std::span<const ParamSpec> schema, const Params& given) {
  for (const auto& [name, value] : given.items()) {
    bool known = std::any_of(schema.begin(), schema.end(),
                             [&](const ParamSpec& s) { return s.name == name; });
    if (!known) {
      std::vector<std::string> valid;
      for (const auto& s : schema) valid.push_back(s.name);
      throw param_error(name, "unknown parameter; valid parameters are: " + join(valid));
    }
  }
  Params out;
  for (const auto& spec : schema) {
    const Value* v = given.find(spec.name);
    out.set(spec.name, check_param(spec, v ? *v : spec.default_value));
  }
  return out;
}

}  // namespace mpisweep
