#include <mpisweep/core/error.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/core/value.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace mpisweep {

std::string_view to_string(ParamType t) {
  switch (t) {
    case ParamType::boolean: return "bool";
    case ParamType::integer: return "int";
    case ParamType::real: return "real";
    case ParamType::choice: return "choice";
  }
  return "?";
}

namespace {

std::string shortest_double(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  if (ec != std::errc()) throw internal_error("cannot format a double");
  return std::string(buf, end);
}

std::string type_of(const Value& v) {
  switch (v.index()) {
    case 0: return "a boolean";
    case 1: return "an integer";
    case 2: return "a real number";
    default: return "a string";
  }
}

}  // namespace

std::string format_value(const Value& v) {
  switch (v.index()) {
    case 0: return std::get<bool>(v) ? "true" : "false";
    case 1: return std::to_string(std::get<std::int64_t>(v));
    case 2: return shortest_double(std::get<double>(v));
    default: return std::get<std::string>(v);
  }
}

std::string canonical_value(const Value& v) {
  switch (v.index()) {
    case 0: return std::get<bool>(v) ? "b:1" : "b:0";
    case 1: return "i:" + std::to_string(std::get<std::int64_t>(v));
    case 2: {
      double x = std::get<double>(v);
      if (x == 0) x = 0;  // -0 and +0 are the same parameter value
      char buf[32];
      std::snprintf(buf, sizeof buf, "r:%016llx",
                    static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(x)));
      return buf;
    }
    default: return "s:" + std::get<std::string>(v);
  }
}

std::string ParamSpec::range_text() const {
  if (type == ParamType::choice) {
    return "{" + join(choices) + "}";
  }
  if (type == ParamType::boolean) return "";
  if (min && max)
    return std::string(min_open ? "(" : "[") + shortest_double(*min) + ", " + shortest_double(*max) +
           (max_open ? ")" : "]");
  if (min) return std::string(min_open ? "> " : ">= ") + shortest_double(*min);
  if (max) return std::string(max_open ? "< " : "<= ") + shortest_double(*max);
  return "";
}

Value check_param(const ParamSpec& spec, const Value& v) {
  Value out;
  switch (spec.type) {
    case ParamType::boolean:
      if (v.index() != 0) throw param_error(spec.name, "expected a boolean, got " + type_of(v));
      return v;
    case ParamType::integer:
      if (v.index() != 1) throw param_error(spec.name, "expected an integer, got " + type_of(v));
      out = v;
      break;
    case ParamType::real:
      if (v.index() == 1)
        out = static_cast<double>(std::get<std::int64_t>(v));
      else if (v.index() == 2)
        out = v;
      else
        throw param_error(spec.name, "expected a real number, got " + type_of(v));
      if (!std::isfinite(std::get<double>(out)))
        throw param_error(spec.name, "expected a finite number, got " + format_value(out));
      break;
    case ParamType::choice: {
      if (v.index() != 3) throw param_error(spec.name, "expected a string, got " + type_of(v));
      for (const auto& c : spec.choices)
        if (c == std::get<std::string>(v)) return v;
      throw param_error(spec.name, "'" + std::get<std::string>(v) + "' is not one of " +
                                       spec.range_text());
    }
  }
  const double x = out.index() == 1 ? static_cast<double>(std::get<std::int64_t>(out))
                                    : std::get<double>(out);
  const bool below = spec.min && (spec.min_open ? x <= *spec.min : x < *spec.min);
  const bool above = spec.max && (spec.max_open ? x >= *spec.max : x > *spec.max);
  if (below || above)
    throw param_error(spec.name, format_value(out) + " is out of range " + spec.range_text());
  return out;
}

}  // namespace mpisweep
