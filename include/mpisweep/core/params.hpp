#pragma once
// A resolved parameter set: every declared parameter of an experiment with its value.
#include <mpisweep/core/value.hpp>

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpisweep {

class Params {
 public:
  using Item = std::pair<std::string, Value>;

  void set(std::string name, Value v);  // replaces an existing value
  const Value* find(std::string_view name) const;
  const Value& at(std::string_view name) const;  // internal_error if absent
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  bool get_bool(std::string_view name) const;
  std::int64_t get_int(std::string_view name) const;
  double get_real(std::string_view name) const;  // integers read as reals too
  const std::string& get_string(std::string_view name) const;

  const std::vector<Item>& items() const { return items_; }  // sorted by name
  std::size_t size() const { return items_.size(); }
  bool operator==(const Params&) const = default;

 private:
  std::vector<Item> items_;
};

// Fills defaults for everything `given` leaves out, rejects names not in `schema` (the message
// lists the valid ones) and checks every value. Throws param_error.
Params resolve_params(std::span<const ParamSpec> schema, const Params& given);

}  // namespace mpisweep
