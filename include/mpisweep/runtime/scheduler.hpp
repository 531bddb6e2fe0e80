#pragma once
// The master's dispatch decisions as a plain class driven by events (no MPI, no clocks of its
// own), so they are unit-tested directly. Tasks are indices 0..n-1 into the master's task list.
//
// Policy: a worker gets work when it has little left. Tasks are batched so that one batch is about
// `target_batch_seconds` of work (tiny tasks travel by the hundred, long ones one by one), and a
// worker holds a second batch in reserve only while tasks are short enough that waiting for the
// next message would matter, or while results are big enough that their trip to the master would
// (one reserve task, only while the queue holds more than one task a worker); near the end
// batches shrink so no worker is left holding the tail.
#include <mpisweep/core/task.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace mpisweep::runtime {

struct SchedulerOptions {
  int retries = 0;  // extra attempts for failed or timed-out tasks
  double target_batch_seconds = 0.02;
  std::size_t max_batch = 1024;
  double prefetch_below_seconds = 0.05;  // mean task time under which workers keep a reserve
  // Mean result size (bytes) from which workers keep a reserve whatever their tasks' duration: a
  // big result's trip to the master and the next task's trip back take a disk write's time
  // (issue 18), which the worker would otherwise spend idle. 0: never.
  std::size_t prefetch_above_bytes = std::size_t{1} << 20;
  std::optional<double> deadline;  // no task starts that the estimate says ends after it
  // Longest expected first, if either is given (one entry per task): see order_longest_first
  // and order_by_measured_cost. Taken over by the Scheduler when it is made.
  std::vector<double> expected_seconds;
  std::vector<std::uint32_t> cost_class;
};

class Scheduler {
 public:
  Scheduler(std::size_t tasks, std::vector<int> workers, SchedulerOptions options = {});
  // Same, with the attempts already made for each task (resume with retries).
  Scheduler(std::vector<std::int32_t> prior_attempts, std::vector<int> workers,
            SchedulerOptions options);

  // Longest expected first: hand out queued tasks in descending `expected_seconds[task]` (equal
  // ones in index order), e.g. from a cost hint a parameter declares, so that the longest tasks
  // do not start last and stretch the tail (Graham 1969, LPT: makespan <= 4/3 of the optimum
  // on identical workers). Retried and returned tasks still go to the back and the front.
  void order_longest_first(const std::vector<double>& expected_seconds);
  // The same from durations measured so far: tasks of one class (say, one parameter point) are
  // taken to cost alike, and as durations come in (see learn_cost) the queue is put in
  // descending order of its class's mean measured duration. One task of each class not measured
  // yet goes first, so its cost is learnt early; its other tasks count at the overall mean.
  // Batches are then sized by the cost of the class they are taken from (a class not measured
  // yet: as the costliest so far) and keep to one class, so costly tasks do not travel in
  // batches sized for the cheap ones measured first. Meant for several tasks per class (seeds
  // of a point): with one task per class every batch holds one task.
  void order_by_measured_cost(std::vector<std::uint32_t> cost_class);

  // What to send `worker` now (possibly nothing); those tasks count as in flight.
  std::vector<std::size_t> assign(int worker, double now);

  enum class Verdict { final, retry, requeued };
  // A result for `task` from `worker`. `final`: record it as the task's outcome. `retry`: record
  // the attempt, the task is queued again. `requeued`: the task did not run (returned by a
  // draining worker); nothing to record.
  // `result_bytes`: the size of the result as it travelled (its wire record), which sets the
  // reserve rule for big results.
  Verdict on_result(int worker, std::size_t task, TaskStatus status, double wall_seconds,
                    std::size_t result_bytes = 0);

  void stop() { stopping_ = true; }  // hand out nothing more
  // `worker` gets nothing more (it is lost; its tasks were settled through on_result first).
  // With no worker left, the scheduler stops.
  void retire(int worker);
  bool deadline_reached() const { return deadline_reached_; }
  // Nothing in flight and nothing more to hand out.
  bool finished() const { return in_flight_total_ == 0 && (queue_.empty() || stopping_); }

  std::size_t in_flight(int worker) const;
  // The first worker, in the order the constructor was given, that holds nothing (none: nullopt).
  // Kept as tasks go out and results come in, so the master finds the idle workers after a
  // message at the cost of those it tops up, not by looking at every worker (at 10,000 workers
  // that scan cost more than the message itself; docs/performance.md, the scheduler model).
  std::optional<int> first_idle() const;
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t in_flight() const { return in_flight_total_; }
  std::size_t queued() const { return queue_.size(); }
  std::size_t completed() const { return done_; }
  std::size_t failed() const { return failed_; }
  std::int32_t attempts(std::size_t task) const { return attempts_[task]; }
  double mean_task_seconds() const { return timed_ ? total_seconds_ / double(timed_) : 0.0; }
  double mean_result_bytes() const { return timed_ ? total_bytes_ / double(timed_) : 0.0; }

 private:
  std::size_t batch_size() const;
  // The duration batches and prefetching are sized by: with cost classes, that of the class of
  // the task at the front of the queue; else the mean of all tasks.
  double expected_next_seconds() const;
  void learn_cost(std::size_t task, double wall_seconds);

  SchedulerOptions options_;
  std::deque<std::size_t> queue_;
  std::vector<std::int32_t> attempts_;
  // The slot (position in the constructor's worker list) of a worker rank, or null: a flat
  // array by rank, as ranks are small dense integers (a std::map lookup was ~40-120 ns at
  // 10,000 workers, paid for every task sent and every result).
  const std::size_t* slot_of(int worker) const;
  std::vector<std::size_t> slot_by_rank_;  // npos: not a worker
  std::vector<std::size_t> held_;          // tasks in flight, by slot
  std::vector<int> workers_;               // by slot
  std::set<std::size_t> idle_;             // slots of the workers holding nothing
  std::size_t in_flight_total_ = 0;
  std::size_t retired_ = 0;  // workers retire()d: they get nothing more
  std::size_t done_ = 0, failed_ = 0, timed_ = 0;
  double total_seconds_ = 0, total_bytes_ = 0;
  // order_by_measured_cost: class of each task, per-class sums and counts, when to re-sort.
  std::vector<std::uint32_t> class_of_;
  std::vector<double> class_seconds_;
  std::vector<std::size_t> class_timed_;
  std::size_t next_sort_ = 1, last_sort_ = 0;
  double max_class_seconds_ = 0;  // the largest class mean seen
  bool unsorted_class_ = false;   // a class measured for the first time since the last sort
  bool stopping_ = false;
  bool deadline_reached_ = false;
};

}  // namespace mpisweep::runtime
