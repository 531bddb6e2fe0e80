#pragma once
// A task as it travels between master and workers, and what comes back.
#include <mpisweep/core/text.hpp>
#include <mpisweep/core/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep {

enum class TaskStatus : std::int8_t {
  pending = 0,
  done = 1,
  failed = 2,
  timeout = 3,
  returned = 4,  // never started or interrupted by a stop: still pending, not an attempt
};
std::string_view to_string(TaskStatus s);

struct TaskSpec {
  std::uint64_t index = 0;     // the master's task number
  std::uint64_t row = 0;       // archive row
  std::uint64_t id = 0;
  std::uint64_t seed = 0;
  std::int32_t attempts = 0;   // attempts made before this one
  std::vector<Value> params;   // in the experiment's schema order
};

struct TaskResult {
  std::uint64_t index = 0;
  std::uint64_t row = 0;
  std::uint64_t id = 0;
  TaskStatus status = TaskStatus::done;
  std::int32_t attempts = 0;   // including this one
  std::int32_t worker = 0;     // rank that ran it
  double started = 0;          // unix time
  double wall_seconds = 0;
  std::string error;
  std::vector<double> metrics;               // experiment's declared order, NaN where absent
  std::vector<std::vector<double>> series;   // declared order, empty where absent
};

}  // namespace mpisweep
