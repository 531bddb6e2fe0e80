#pragma once
// Parameter values and their declarations (name, type, default, range, meaning).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mpisweep {

using Value = std::variant<bool, std::int64_t, double, std::string>;

enum class ParamType { boolean, integer, real, choice };

std::string_view to_string(ParamType t);
// Human form: true, 42, 0.25, extension. Reals print the shortest text that reads back exactly.
std::string format_value(const Value& v);
// Exact, type-tagged form used for task ids: b:1, i:42, r:<hex bits>, s:extension.
std::string canonical_value(const Value& v);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  Value default_value;
  std::string help;                // one line of meaning
  std::optional<double> min, max;  // inclusive unless *_open
  bool min_open = false, max_open = false;
  std::vector<std::string> choices;  // for ParamType::choice
  std::string unit;

  // "[0, 1)", "> 0", "{extension, shear}", or "" when unconstrained.
  std::string range_text() const;
};

// Converts `v` to the declared type (integers promote to reals; whole reals do not demote) and
// checks range and choices. Throws param_error naming the parameter.
Value check_param(const ParamSpec& spec, const Value& v);

}  // namespace mpisweep
