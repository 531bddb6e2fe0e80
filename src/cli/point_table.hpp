#pragma once
// What a sweep expands to, as `validate` and `run --dry-run` print it.
#include <mpisweep/sweep/spec.hpp>

#include <string>

namespace mpisweep::cli {

// "12 tasks (6 points × 2 seeds)", singular where a count is 1.
std::string task_count_text(const sweep::Spec& spec);

// Every parameter point (random draws included) as a table on stdout, one row per point in the
// order the sweep runs them, values with the digits `show` uses.
void print_point_table(const sweep::Spec& spec);

}  // namespace mpisweep::cli
