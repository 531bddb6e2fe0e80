#pragma once
// The interface every experiment kind implements. An experiment is a pure function of its
// parameters and a seed, given a thread budget, a cancellation flag it polls and a progress
// callback (design.md "Experiments"). It never touches MPI, HDF5, files or global state.
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/schema.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mpisweep {

struct Result {
  std::map<std::string, double> metrics;              // names must be declared
  std::map<std::string, std::vector<double>> series;  // names must be declared
};

struct RunContext {
  std::uint64_t seed = 0;
  std::uint64_t task_id = 0;  // the task's stable id (the command kind's {task_id})
  int threads = 1;            // the task's thread budget
  const std::atomic<bool>* cancel_flag = nullptr;  // set by the runtime to stop the task
  std::function<void(double)> on_progress;         // fraction done in [0, 1]; may be empty

  bool cancelled() const { return cancel_flag && cancel_flag->load(std::memory_order_relaxed); }
  void throw_if_cancelled() const {
    if (cancelled()) throw task_cancelled();
  }
  void progress(double fraction) const {
    if (on_progress) on_progress(fraction);
  }
};

struct Experiment {
  std::string name;     // registered kind, e.g. "moe_cl"
  std::string summary;  // one line
  std::vector<ParamSpec> params;
  std::vector<MetricSpec> metrics;
  std::vector<SeriesSpec> series;
  std::vector<PlotSpec> plots;
  // Cross-parameter checks (rank <= anchors, s < d, ...); throws param_error. May be empty.
  std::function<void(const Params&)> check;
  // Runs one task. `params` is resolved and checked. Thread-safe: called concurrently.
  std::function<Result(const Params&, const RunContext&)> run;
};

}  // namespace mpisweep
