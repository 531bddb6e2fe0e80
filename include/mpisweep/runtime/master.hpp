#pragma once
#include <mpisweep/core/task.hpp>
#include <mpisweep/runtime/scheduler.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <string>

namespace mpisweep::runtime {

// Consumers of what the master learns (the archive writer is one). Master only.
class MasterObserver {
 public:
  virtual ~MasterObserver() = default;
  virtual void on_hello(int /*rank*/, const std::string& /*host*/, int /*threads*/) {}
  // Every attempt's outcome: final ones and those that will be retried (status failed/timeout).
  virtual void on_result(const TaskResult& result) = 0;
  // Called about every `tick_seconds` while the master runs; the archive flushes here.
  virtual void on_tick() {}
};

struct MasterOptions {
  SchedulerOptions scheduler;
  double tick_seconds = 1.0;
  double grace_seconds = 60;         // after a stop signal, running tasks may finish this long
  bool progress = true;              // the progress line on stderr
  std::size_t total = 0;             // tasks in the sweep, for the progress line
  std::size_t already_done = 0;      // finished before this run
  std::size_t already_failed = 0;
};

struct MasterSummary {
  std::size_t done = 0, failed = 0, not_run = 0;
  bool stopped = false;              // by a signal or the deadline; the sweep is resumable
};

// Hands out tasks 0..n-1 (materialised by `make_task(i)` when they are sent) to the ranks in
// `workers` until all are done or a stop signal arrives, then tells every worker to stop with
// the exit code returned by `exit_code(summary)`. Master only.
MasterSummary run_master(Transport& transport, const std::vector<int>& workers,
                         std::vector<std::int32_t> prior_attempts,
                         const std::function<TaskSpec(std::size_t)>& make_task,
                         MasterObserver& observer, const MasterOptions& options,
                         const std::function<int(const MasterSummary&)>& exit_code);

// Tells a worker to stop now with exit code `code` (used when the master fails).
void send_stop(Transport& transport, int worker, int code);

// Formats "12/40 done, 1 failed, 3.5 tasks/s, ETA 9s".
std::string progress_text(std::size_t done, std::size_t failed, std::size_t total, double rate);

}  // namespace mpisweep::runtime
