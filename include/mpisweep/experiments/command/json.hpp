#pragma once
// A small, strict JSON reader and writer for the command kind: the parameters a task's process
// gets and the result object it hands back. Our own (RFC 8259), so the project takes no new
// dependency for two tiny documents.
#include <mpisweep/core/text.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mpisweep::command {

struct Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::map<std::string, Json>;

struct Json {
  // Numbers stay as double: the result object carries metrics (float64 columns) and series.
  std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> value;

  bool is_number() const { return value.index() == 2; }
  bool is_string() const { return value.index() == 3; }
  bool is_array() const { return value.index() == 4; }
  bool is_object() const { return value.index() == 5; }
  double number() const { return std::get<double>(value); }
  const std::string& string() const { return std::get<std::string>(value); }
  const JsonArray& array() const { return std::get<JsonArray>(value); }
  const JsonObject& object() const { return std::get<JsonObject>(value); }
};

// Parses one JSON text (surrounding whitespace allowed, nothing else after it). Beyond RFC 8259
// it accepts the tokens NaN, Infinity and -Infinity, because Python's json module writes them for
// a diverged loss and such a result is a real result. A duplicate object key is an error.
// Throws mpisweep::error with "<what> at offset N".
Json parse_json(std::string_view text);

using mpisweep::json_quote;  // core/text.hpp
// `x` as a JSON number that reads back exactly; always with a '.' or exponent, so a reader sees a
// real, not an integer. Non-finite values become null (JSON has no NaN).
std::string json_real(double x);

}  // namespace mpisweep::command
