#pragma once
#include <mpisweep/core/task.hpp>
#include <mpisweep/experiments/experiment.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <functional>
#include <string>

namespace mpisweep::runtime {

struct WorkerOptions {
  int threads = 1;          // the thread budget each task gets
  double task_timeout = 0;  // seconds; 0: none
  std::string host;
  // Least seconds between two progress reports of a running task (RunContext::progress).
  double progress_interval = 1.0;
  // Most seconds the worker stays silent: then it sends a heartbeat (liveness.hpp).
  double heartbeat_seconds = 1.0;
  // Ends the whole job with a code (Context::abort), for a fatal error the master never
  // acknowledges; unset: this process exits.
  std::function<void(int)> abort;
  // Set (series_files = "per_rank"): stores a done task's series where the archive maps them
  // and fills Outcome::placed in place of the series, on the runner thread, before the result
  // is queued. A non-empty return fails the task with that message (a series it cannot store);
  // throwing (a failed write) is the worker's own failure.
  std::function<std::string(Outcome&)> place_series;
  // Set with place_series: makes every series placed so far readable. The main thread calls it
  // before it sends results, so a done row's values are on disk before the row leaves the rank.
  std::function<void()> flush_series;
};

// Worker loop: announces itself, runs the tasks the master sends one at a time on a runner
// thread (the calling thread stays free to talk to the master and enforce timeouts), and returns
// the exit code the master sends with its stop message. Never burns a core while it waits.
// An exception outside a task (the worker's own failure) is reported to the master as one
// FatalReport; once the master acknowledges it, the worker waits for the master to end the job
// after flushing the archive (it never returns); without an answer within 30 s it prints the
// error itself and aborts the job.
int run_worker(Transport& transport, const Experiment& experiment, const WorkerOptions& options);

// Maps an experiment's named results onto its declared metric and series order. An undeclared
// name is the experiment's bug: it fails the task (returns the message) rather than the sweep.
// With `encode`, each series of at least one chunk is encoded (Outcome::encoded); without, it
// stays as values for pack_record to encode straight into the result message (the worker's way).
std::string to_columns(const Experiment& experiment, Result&& result, Outcome& out,
                       bool encode = true);

}  // namespace mpisweep::runtime
