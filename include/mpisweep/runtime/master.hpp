#pragma once
// The master loop: hands tasks to workers as the Scheduler decides and tells its observers what
// it learns. Master only.
#include <mpisweep/core/task.hpp>
#include <mpisweep/runtime/scheduler.hpp>
#include <mpisweep/runtime/transport.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace mpisweep::runtime {

// A worker the master gave up on (liveness.hpp): frozen, stuck in a task that ignores its
// cancellation, or failed outside a task. Its tasks went to the other workers.
struct LostWorker {
  int rank = 0;
  std::string host;
  std::string reason;  // "sent nothing for 10.2 s", "failed: ..."
};

struct MasterSummary {
  std::size_t done = 0, failed = 0, not_run = 0;
  bool stopped = false;  // by a signal or the deadline; the sweep is resumable
  // Non-empty: the job must be ended (Context::abort) once the archive is closed, since MPI
  // cannot finish a job with a rank that does not answer.
  std::vector<LostWorker> lost;
};

// Consumers of what the master learns (Taskflow's observers): the archive writer and the
// progress line are two. Called on the master's thread, in order; they must not block long.
class MasterObserver {
 public:
  virtual ~MasterObserver() = default;
  virtual void on_hello(int /*rank*/, const std::string& /*host*/, int /*threads*/) {}
  // Every attempt at task `task` (an index of make_task), with attempts and host filled in.
  // `final`: the task's outcome for this run; otherwise it will be retried.
  virtual void on_result(std::size_t /*task*/, const Outcome& /*outcome*/, bool /*final*/) {}
  // A running task's own estimate of how far it is, in [0, 1] (RunContext::progress).
  virtual void on_progress(std::size_t /*task*/, double /*fraction*/) {}
  // About every MasterOptions::tick_seconds; the archive flushes here.
  virtual void on_tick() {}
  // The first stop signal: no more tasks start; running ones get `grace_seconds`.
  virtual void on_stop_signal(int /*signal*/, double /*grace_seconds*/) {}
  virtual void on_finish(const MasterSummary& /*summary*/) {}
};

struct MasterOptions {
  SchedulerOptions scheduler;
  double tick_seconds = 1.0;
  double grace_seconds = 60;  // after a stop signal, running tasks may finish this long
  // A worker silent this long is lost; one whose task runs past task_timeout + grace_seconds
  // (0: no timeout) without ending is lost too (liveness.hpp).
  double lost_after_seconds = 10;
  double task_timeout = 0;
};

// Hands out tasks 0..n-1 (materialised by `make_task(i)` when they are sent) to the ranks in
// `workers` until all are done or a stop signal arrives, then tells every worker to stop with
// the exit code returned by `exit_code(summary)`. A lost worker is named on stderr at once, its
// running task recorded as an attempt (timeout, or failed when the worker reported its own
// failure) and retried by the retry rule, its other tasks handed to other workers; with no worker
// left, what remains is not run. Master only.
MasterSummary run_master(Transport& transport, const std::vector<int>& workers,
                         std::vector<std::int32_t> prior_attempts,
                         const std::function<TaskRecord(std::size_t)>& make_task,
                         std::span<MasterObserver* const> observers, const MasterOptions& options,
                         const std::function<int(const MasterSummary&)>& exit_code);

// Tells a worker to stop now with exit code `code` (used when the master fails).
void send_stop(Transport& transport, int worker, int code);

// Formats "12/40 done, 1 failed, 3.5 tasks/s, ETA 9s" (no ETA once nothing is left to run).
std::string progress_text(std::size_t done, std::size_t failed, std::size_t total, double rate);

// How `run` shows its progress on stderr. `automatic` is resolved by resolve_progress_mode.
enum class ProgressMode { automatic, bar, lines, none };

// `bar` when a person watches this process's stderr, `lines` otherwise; other modes unchanged.
// Under mpirun rank 0's stderr is a pipe into mpirun, so "watched" means: stderr is a terminal,
// or the parent is Open MPI's launcher (mpirun, mpiexec, orterun) and the launcher's own stderr
// (/proc/PPID/fd/2) is a terminal. Open MPI 4.1 gives every rank a pty as stdout whatever
// mpirun's stdout is, and a controlling terminal survives `2>log`, so neither can tell.
ProgressMode resolve_progress_mode(ProgressMode mode);

// The progress on stderr, in one of three modes:
//  bar:   one line redrawn in place (4 times a second at most), a bar, counts, rate and ETA;
//  lines: a timestamped line with elapsed time, counts, rate and ETA when the run starts, then at
//         most one every max(5 s, elapsed / 10), capped at 60 s: a SLURM log of a day-long sweep
//         gets about 1500 lines, a short run still one every 5 s;
//  none:  nothing.
// bar and lines end with one summary line: done, failed, not run, wall time and tasks/s.
// Shows the mean progress of running tasks that report one.
class ProgressObserver final : public MasterObserver {
 public:
  // `total` tasks in the sweep, of which `done` and `failed` were settled by earlier runs;
  // `mode` is bar, lines or none (resolve `automatic` first).
  ProgressObserver(std::size_t total, std::size_t done, std::size_t failed, ProgressMode mode);
  void on_result(std::size_t task, const Outcome& outcome, bool final) override;
  void on_progress(std::size_t task, double fraction) override;
  void on_tick() override { draw(false); }
  void on_stop_signal(int signal, double grace_seconds) override;
  void on_finish(const MasterSummary& summary) override;

 private:
  void draw(bool force);
  void write_line(const std::string& text);

  std::size_t total_, done_, failed_, finished_ = 0;
  ProgressMode mode_;
  std::size_t width_ = 80;  // of the terminal, in bar mode
  double start_, last_draw_;
  std::vector<std::pair<std::size_t, double>> running_;  // task, fraction
};

}  // namespace mpisweep::runtime
