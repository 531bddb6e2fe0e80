#include <mpisweep/core/error.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/core/value.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <variant>

namespace mpisweep {

namespace {

// One row per ParamType, in its order: its name and the Value alternative that holds it, so
// naming and checking a type need no switch.
struct ParamTraits {
  std::string_view name;
  std::size_t alternative;  // index into Value
};
constexpr ParamTraits param_traits[] = {{"bool", 0}, {"int", 1}, {"real", 2}, {"choice", 3}};
const ParamTraits& traits(ParamType t) { return param_traits[static_cast<std::size_t>(t)]; }

// What a user calls each Value alternative, by index.
constexpr std::string_view value_nouns[] = {"a boolean", "an integer", "a real number", "a string"};
std::string type_of(const Value& v) { return std::string(value_nouns[v.index()]); }

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};

std::string shortest_double(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  if (ec != std::errc()) throw internal_error("cannot format a double");
  return std::string(buf, end);
}

}  // namespace

std::string_view to_string(ParamType t) { return traits(t).name; }

std::string format_value(const Value& v) {
  return std::visit(overloaded{[](bool b) -> std::string { return b ? "true" : "false"; },
                               [](std::int64_t i) { return std::to_string(i); },
                               [](double x) { return shortest_double(x); },
                               [](const std::string& s) { return s; }},
                    v);
}

std::string canonical_value(const Value& v) {
  return std::visit(
      overloaded{[](bool b) -> std::string { return b ? "b:1" : "b:0"; },
                 [](std::int64_t i) { return "i:" + std::to_string(i); },
                 [](double x) {
                   if (x == 0) x = 0;  // -0 and +0 are the same parameter value
                   char buf[32];
                   std::snprintf(buf, sizeof buf, "r:%016llx",
                                 static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(x)));
                   return std::string(buf);
                 },
                 [](const std::string& s) { return "s:" + s; }},
      v);
}

std::string ParamSpec::range_text() const {
  if (type == ParamType::choice) return "{" + join(choices) + "}";
  if (type == ParamType::boolean) return "";
  if (min && max)
    return std::string(min_open ? "(" : "[") + shortest_double(*min) + ", " +
           shortest_double(*max) + (max_open ? ")" : "]");
  if (min) return std::string(min_open ? "> " : ">= ") + shortest_double(*min);
  if (max) return std::string(max_open ? "< " : "<= ") + shortest_double(*max);
  return "";
}

Value check_param(const ParamSpec& spec, const Value& v) {
  // Integers promote to reals; nothing else converts.
  const Value out = spec.type == ParamType::real && std::holds_alternative<std::int64_t>(v)
                        ? Value{static_cast<double>(std::get<std::int64_t>(v))}
                        : v;
  const std::size_t want = traits(spec.type).alternative;
  if (out.index() != want)
    throw param_error(spec.name,
                      "expected " + std::string(value_nouns[want]) + ", got " + type_of(v));
  if (const auto* s = std::get_if<std::string>(&out)) {
    for (const auto& c : spec.choices)
      if (c == *s) return out;
    throw param_error(spec.name, "'" + *s + "' is not one of " + spec.range_text());
  }
  if (std::holds_alternative<bool>(out)) return out;
  const double x = std::holds_alternative<std::int64_t>(out)
                       ? static_cast<double>(std::get<std::int64_t>(out))
                       : std::get<double>(out);
  if (std::holds_alternative<double>(out) && !std::isfinite(x))
    throw param_error(spec.name, "expected a finite number, got " + format_value(out));
  const bool below = spec.min && (spec.min_open ? x <= *spec.min : x < *spec.min);
  const bool above = spec.max && (spec.max_open ? x >= *spec.max : x > *spec.max);
  if (below || above)
    throw param_error(spec.name, format_value(out) + " is out of range " + spec.range_text());
  return out;
}

}  // namespace mpisweep
