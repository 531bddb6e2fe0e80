#pragma once
// A discrete-event model of one sweep: the real runtime::Scheduler makes every dispatch decision,
// while the master's and the workers' costs and the network are modelled by measured constants
// (docs/performance.md, "A model of the scheduler"). The master is one server handling one message
// at a time, as src/runtime/master.cpp does: a results message costs a per-message and a per-task
// amount, then the sender is topped up and, while tasks are queued, every worker is looked at and
// topped up if it holds nothing. Between messages the master sleeps with the same back-off as the
// real one (20 us doubling to 640 us), so a message waits for the next poll.
#include <mpisweep/runtime/scheduler.hpp>

#include <csignal>
#include <cstddef>
#include <string>
#include <vector>

namespace mpisweep::simulate {

struct Costs {
  double latency = 2e-6;         // one way, master <-> worker, seconds
  double master_message = 3e-6;  // master CPU per message received or sent
  double master_task = 2e-6;     // master CPU per task: encode it, decode and archive its result
  double master_scan = 2e-8;     // master CPU per worker looked at in the old idle-worker scan
  double worker_task = 1e-6;     // worker CPU per task outside the experiment
  double worker_send = 2e-5;     // a finished task to its results message (thread wake-up)
  double worker_poll = 1e-3;     // a worker's main thread looks for messages this often when
                                 // no result wakes it (worker.cpp: wait_for 1 ms)
  double wake = 0;               // extra delay of every wake-up of a sleeping thread beyond
                                 // its timer or signal: the scheduling delay of a loaded or
                                 // oversubscribed machine (measure with --probe-wake)
};

struct Workload {
  std::vector<double> seconds;            // each task's duration on its worker, in dispatch order
  std::vector<double> expected;           // cost hints for longest-expected-first; empty: none
  std::vector<std::uint32_t> cost_class;  // for ordering by measured cost; empty: none
};

struct Outcome {
  double first_start = 0, last_end = 0;  // of any task
  double work = 0;                       // sum of task durations
  double efficiency = 0;                 // work / (workers * (last_end - first_start))
  double master_busy = 0;                // fraction of the run the master spent handling messages
  double last_start = 0;                 // when the last task to start started
  std::size_t messages = 0;              // results messages the master received
  std::size_t polls = 0;                 // master wake-ups that found nothing
  std::size_t max_message_wait = 0;      // most results messages queued at the master at once
};

// Runs the sweep to its end with the master of master.cpp, which finds idle workers in the
// scheduler's idle set. `scan` true adds what the master cost before it kept that set: a look at
// every worker after each message (`master_scan` each); the dispatch decisions are the same.
Outcome run_sweep(const Workload& load, int workers, const Costs& costs,
                  const runtime::SchedulerOptions& options, bool scan = false);

// Mean lateness of a 100 us sleep on this machine, measured until `stop` turns true: the wake-up
// delay a thread of a sweep running beside it would see.
double probe_wake(const volatile std::sig_atomic_t& stop);

// Seconds per worker of the scan the master did before it kept an idle set, over `workers`
// workers, timed on the real Scheduler on this machine (in_flight(w) for every worker).
double measure_scan_cost(int workers);

// Durations: `mean` seconds each (constant), lognormal with log-sd `sigma` and that mean, or
// Pareto with tail index `alpha` and that mean (heavy tail; variance infinite for alpha <= 2).
std::vector<double> constant_durations(std::size_t n, double mean);
std::vector<double> lognormal_durations(std::size_t n, double mean, double sigma,
                                        std::uint64_t seed);
std::vector<double> pareto_durations(std::size_t n, double mean, double alpha, std::uint64_t seed);
// /tasks/wall_seconds of the archive's done tasks, in row order (the master's dispatch order for
// a sweep run from the start).
std::vector<double> archive_durations(const std::string& path);

}  // namespace mpisweep::simulate
