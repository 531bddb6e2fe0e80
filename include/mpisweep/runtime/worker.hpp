#pragma once
#include <mpisweep/core/task.hpp>
#include <mpisweep/experiments/experiment.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <string>

namespace mpisweep::runtime {

struct WorkerOptions {
  int threads = 1;          // the thread budget each task gets
  double task_timeout = 0;  // seconds; 0: none
  std::string host;
  // Least seconds between two progress reports of a running task (RunContext::progress).
  double progress_interval = 1.0;
};

// Worker loop: announces itself, runs the tasks the master sends one at a time on a runner
// thread (the calling thread stays free to talk to the master and enforce timeouts), and returns
// the exit code the master sends with its stop message. Never burns a core while it waits.
int run_worker(Transport& transport, const Experiment& experiment, const WorkerOptions& options);

// Maps an experiment's named results onto its declared metric and series order. An undeclared
// name is the experiment's bug: it fails the task (returns the message) rather than the sweep.
std::string to_columns(const Experiment& experiment, Result&& result, Outcome& out);

}  // namespace mpisweep::runtime
