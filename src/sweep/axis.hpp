#pragma once
// Grid and zip axes written as a rule instead of a list: { linspace = [start, stop, count] },
// { logspace = [start_exp, stop_exp, count] } and { range = [start, stop(, step)] }. Private to
// the sweep layer: spec.cpp calls it while it parses.
#include <mpisweep/core/value.hpp>

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mpisweep::sweep::detail {

// True when `t` is one of the rules above (one key: linspace, logspace or range).
bool is_axis_rule(const toml::table& t);

// How many values the rule gives, checked (types, count, step direction) before anything is
// built, so a huge range fails on the sweep's task limit and not in the allocator. Throws
// input_error at `where` naming `key` and the form expected.
std::uint64_t axis_rule_count(const toml::table& t, const std::string& key,
                              const std::string& where);

// The values, in order. linspace and logspace give reals, range gives integers when start, stop
// and step are all integers. Endpoints are exact: the first value is start and the last stop
// (10^start and 10^stop for logspace) where the rule reaches it.
std::vector<Value> axis_rule_values(const toml::table& t, const std::string& key,
                                    const std::string& where);

// The rules' forms, for messages: "or { linspace = ... } ...".
extern const char* const axis_rule_forms;

}  // namespace mpisweep::sweep::detail
