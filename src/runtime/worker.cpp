#include <mpisweep/runtime/worker.hpp>

#include "protocol.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

namespace mpisweep::runtime {

std::string to_columns(const Experiment& experiment, Result&& result, Outcome& out, bool encode) {
  for (const auto& [name, value] : result.metrics) {
    (void)value;
    bool known = false;
    for (const auto& m : experiment.metrics) known |= m.name == name;
    if (!known) return "experiment returned an undeclared metric '" + name + "'";
  }
  for (const auto& [name, value] : result.series) {
    (void)value;
    bool known = false;
    for (const auto& s : experiment.series) known |= s.name == name;
    if (!known) return "experiment returned an undeclared series '" + name + "'";
  }
  out.metrics.assign(experiment.metrics.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < experiment.metrics.size(); ++i)
    if (auto it = result.metrics.find(experiment.metrics[i].name); it != result.metrics.end())
      out.metrics[i] = it->second;
  // A series of at least one chunk goes out encoded as the archive stores it (its declared
  // storage), here on the worker, so that the master only copies chunks into the file (issue
  // 18); a shorter one goes as values, which the archive packs back to back.
  out.series.assign(experiment.series.size(), {});
  out.encoded.assign(experiment.series.size(), nullptr);
  for (std::size_t i = 0; i < experiment.series.size(); ++i) {
    const SeriesSpec& spec = experiment.series[i];
    auto it = result.series.find(spec.name);
    if (it == result.series.end()) continue;
    if (encode && static_cast<std::int64_t>(it->second.size()) >= chunk_codec::chunk_elements(spec))
      out.encoded[i] = std::make_shared<const chunk_codec::Encoded>(
          chunk_codec::encode_series(it->second, spec));
    else
      out.series[i] = std::move(it->second);
  }
  return {};
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Test-only fault injection, read here and nowhere else: the worker of rank
// MPISWEEP_FAIL_WORKER fails outside any task right after it sends its first results, as a
// worker whose loop throws (a message it cannot decode, memory exhausted) would.
bool fault_injected_for(int rank) {
  const char* v = std::getenv("MPISWEEP_FAIL_WORKER");
  return v && *v && std::atoi(v) == rank;
}

// A task handed back unrun (drained or cancelled by the master): not an attempt.
ResultMessage returned(const TaskMessage& t) {
  ResultMessage r;
  r.index = t.index;
  r.outcome.status = TaskStatus::returned;
  return r;
}

class Worker {
 public:
  Worker(Transport& t, const Experiment& e, const WorkerOptions& o)
      : transport_(t), experiment_(e), options_(o), inject_fault_(fault_injected_for(t.rank())) {}
  // The runner may still be inside a task when the worker fails (fail() never returns then).
  ~Worker() {
    if (runner_.joinable()) runner_.join();
  }

  int run() {
    transport_.send(0, Tag::hello, pack(Hello{options_.host, options_.threads}));
    last_sent_ = Clock::now();
    runner_ = std::thread([this] { runner_loop(); });
    int code = 0;
    for (;;) {
      bool stop = false;
      while (auto m = transport_.poll()) {
        if (handle(*m, code)) stop = true;
      }
      std::vector<ResultMessage> ready;
      std::optional<ProgressMessage> progress;
      std::optional<Heartbeat> heartbeat;
      {
        std::unique_lock lock(mutex_);
        if (runner_error_) std::rethrow_exception(runner_error_);
        ready.swap(results_);
        enforce_timeout();
        progress = due_progress();
        if (stop) stop_ = true;
        if (stop_ && queue_.empty() && !running_ && ready.empty()) break;
        if (ready.empty() && !progress) heartbeat = due_heartbeat();
      }
      if (!ready.empty()) {
        flush_series();
        send_results(ready);
      }
      if (progress) transport_.send(0, Tag::progress, pack(*progress));
      if (heartbeat) transport_.send(0, Tag::heartbeat, pack(*heartbeat));
      if (!ready.empty() || progress) last_sent_ = Clock::now();
      if (!ready.empty() && inject_fault_) throw error("fault injected by MPISWEEP_FAIL_WORKER");
      // Results that are not urgent wait for the next tick (<= 1 ms): with tasks of 100 us, one
      // wake-up and one message a result cost the worker's core ~15 % (issue 15: 1 + 1 ranks
      // reached 0.85 of a bare rank); batched by the millisecond they cost under 1 %.
      std::unique_lock lock(mutex_);
      wake_main_.wait_for(lock, std::chrono::milliseconds(1), [&] { return report_now_; });
      report_now_ = false;
    }
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_runner_.notify_all();
    runner_.join();
    transport_.flush_sends();
    return code;
  }

  // The worker's error guard: one FatalReport to the master, which names this rank, settles its
  // tasks, flushes the archive and ends the job (MPI_Abort). Until then this thread waits: an
  // MPI rank cannot leave a job alone. Without the master's answer (it is in a collective, or
  // gone) the worker prints the error itself and ends the job.
  [[noreturn]] void fail(const std::string& what) {
    const bool storage = storage_failed_.load();
    {
      std::lock_guard lock(mutex_);
      queue_.clear();
      cancel_.store(true);
    }
    bool acknowledged = false;
    try {
      transport_.send(0, Tag::fatal, pack(FatalReport{options_.host, what, storage}));
      const auto until = Clock::now() + std::chrono::seconds(30);
      while (!acknowledged && Clock::now() < until) {
        while (auto m = transport_.poll()) acknowledged |= m->tag == Tag::stop;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      while (acknowledged) {
        while (transport_.poll()) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    } catch (...) {
    }
    std::fprintf(stderr, "mpisweep: rank %d: error: %s\n", transport_.rank(), what.c_str());
    std::fflush(stderr);
    if (options_.abort) options_.abort(3);
    std::_Exit(3);
  }

 private:
  // Returns true on stop.
  bool handle(const Envelope& m, int& code) {
    switch (m.tag) {
      case Tag::tasks: {
        auto batch = unpack<std::vector<TaskMessage>>(m.bytes);
        std::lock_guard lock(mutex_);
        for (auto& t : batch) queue_.push_back(std::move(t));
        wake_runner_.notify_one();
        return false;
      }
      case Tag::drain:
      case Tag::cancel: {
        std::lock_guard lock(mutex_);
        for (auto& t : queue_) results_.push_back(returned(t));
        queue_.clear();
        if (m.tag == Tag::cancel && running_) {
          cancelled_by_master_ = true;
          cancel_.store(true);
        }
        return false;
      }
      case Tag::stop: code = unpack<std::int32_t>(m.bytes); return true;
      default: return false;
    }
  }

  // The running task's progress, if it moved and the last report is old enough. Caller holds
  // mutex_. Throttled so a task reporting every iteration costs the master nothing.
  std::optional<ProgressMessage> due_progress() {
    if (!running_) return std::nullopt;
    const double fraction = progress_.load(std::memory_order_relaxed);
    if (fraction < 0 || fraction == reported_progress_) return std::nullopt;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_progress_).count() < options_.progress_interval)
      return std::nullopt;
    last_progress_ = now;
    reported_progress_ = fraction;
    return ProgressMessage{running_index_, fraction};
  }

  // A heartbeat when the worker has been silent for an interval; while a task runs past its
  // timeout, one every interval even if progress flows, so the master sees a task that ignores
  // its cancellation. Caller holds mutex_.
  std::optional<Heartbeat> due_heartbeat() {
    const auto now = Clock::now();
    const double interval = options_.heartbeat_seconds;
    const bool overdue = running_ && timed_out_ && seconds(now - last_heartbeat_) >= interval;
    if (seconds(now - last_sent_) < interval && !overdue) return std::nullopt;
    last_sent_ = last_heartbeat_ = now;
    Heartbeat h;
    if (running_) {
      h.running = static_cast<std::int64_t>(running_index_);
      h.running_seconds = seconds(now - started_);
    }
    return h;
  }

  // Caller holds mutex_.
  void enforce_timeout() {
    if (!running_ || options_.task_timeout <= 0 || timed_out_) return;
    if (std::chrono::duration<double>(Clock::now() - started_).count() > options_.task_timeout) {
      timed_out_ = true;
      cancel_.store(true);
    }
  }

  // An exception outside execute() (memory exhausted) ends the runner; the main thread rethrows
  // it, so the worker reports it instead of std::terminate.
  void runner_loop() {
    try {
      run_tasks();
    } catch (...) {
      std::lock_guard lock(mutex_);
      runner_error_ = std::current_exception();
      report_now_ = true;
    }
    wake_main_.notify_one();
  }

  void run_tasks() {
    for (;;) {
      TaskMessage task;
      {
        std::unique_lock lock(mutex_);
        wake_runner_.wait(lock, [&] { return quit_ || !queue_.empty(); });
        if (quit_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
        timed_out_ = false;
        cancelled_by_master_ = false;
        cancel_.store(false);
        started_ = Clock::now();
        running_index_ = task.index;
        progress_.store(-1.0);
        reported_progress_ = -1.0;
      }
      ResultMessage r{task.index, execute(task)};
      if (r.outcome.status == TaskStatus::done) pack_done(r);
      {
        std::lock_guard lock(mutex_);
        if (cancelled_by_master_ && r.outcome.status != TaskStatus::done) {
          r = returned(task);
        } else if (timed_out_ && r.outcome.status != TaskStatus::done) {
          r.outcome.status = TaskStatus::timeout;
          r.outcome.error =
              "exceeded the task timeout of " + std::to_string(options_.task_timeout) + " s";
        }
        running_ = false;
        // At once when the worker is about to idle (the master must refill it), after a task
        // long enough that one message is nothing beside it, or when many wait; else at the
        // main thread's next tick.
        report_now_ = report_now_ || queue_.empty() ||
                      r.outcome.wall_seconds >= report_at_once_seconds ||
                      results_.size() + 1 >= max_results_held;
        results_.push_back(std::move(r));
        if (!report_now_) continue;
      }
      wake_main_.notify_one();
    }
  }

  Outcome execute(const TaskMessage& task) {
    Outcome r;
    r.worker = transport_.rank();
    r.started = unix_now();
    const auto t0 = Clock::now();
    try {
      Params params;
      for (std::size_t i = 0; i < experiment_.params.size() && i < task.params.size(); ++i)
        params.set(experiment_.params[i].name, task.params[i]);
      RunContext ctx;
      ctx.seed = task.seed;
      ctx.task_id = task.task_id;  // the command kind's {task_id} and MPISWEEP_TASK_ID
      ctx.threads = options_.threads;
      ctx.cancel_flag = &cancel_;
      ctx.on_progress = [this](double f) {
        // The main thread, awake every millisecond anyway, picks it up (due_progress).
        progress_.store(std::clamp(f, 0.0, 1.0), std::memory_order_relaxed);
      };
      Result result = experiment_.run(params, ctx);
      r.error = to_columns(experiment_, std::move(result), r, false);
      r.status = r.error.empty() ? TaskStatus::done : TaskStatus::failed;
    } catch (const std::exception& e) {
      r.status = TaskStatus::failed;
      r.error = e.what();
    } catch (...) {
      r.status = TaskStatus::failed;
      r.error = "unknown exception";
    }
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r.status != TaskStatus::done) {
      drop_values(r);
    } else if (options_.place_series) {
      // Outside the try: a failed write (disk full) is the worker's failure, not the task's, and
      // the task is handed back unrun (FatalReport::storage) so that a resume runs it.
      std::string why;
      try {
        why = options_.place_series(r);
      } catch (...) {
        storage_failed_ = true;
        throw;
      }
      if (!why.empty()) {
        r.status = TaskStatus::failed;
        r.error = std::move(why);
        drop_values(r);
      }
    }
    return r;
  }

  // Every result taken from results_ was placed before it was queued: one flush makes all their
  // values readable. A failed flush is a storage failure, as a failed place is: the master hands
  // these tasks back, so a resume runs them.
  void flush_series() {
    if (!options_.flush_series) return;
    try {
      options_.flush_series();
    } catch (...) {
      storage_failed_ = true;
      throw;
    }
  }

  // A packed record of BufferPool::min_bytes or more goes as its own message, in the buffer it
  // was packed into; smaller ones share one, in order. Copying 100 KB records into a batch cost
  // this thread a copy and fresh pages per result, and dropped the buffers the runner packs the
  // next results into (issue 18). The master takes any number of records a message.
  void send_results(std::vector<ResultMessage>& ready) {
    std::vector<ResultMessage> batch;
    auto send_batch = [&] {
      if (!batch.empty()) transport_.send(0, Tag::results, pack(batch));
      for (auto& r : batch) transport_.buffers()->give(std::move(r.wire));
      batch.clear();
    };
    for (auto& r : ready) {
      if (r.wire.size() >= BufferPool::min_bytes) {
        send_batch();
        transport_.send(0, Tag::results, std::move(r.wire));
      } else {
        batch.push_back(std::move(r));
      }
    }
    send_batch();
  }

  // A result that is not done stores no values.
  static void drop_values(Outcome& r) {
    r.metrics.clear();
    r.series.clear();
    r.encoded.clear();
    r.placed.clear();
  }

  // A done result packed on this (the runner's) thread, its long series encoded straight into the
  // message, in a buffer a completed send gave back (issue 18); the main thread sends it as is.
  // Its status cannot change after (a timeout or cancel only relabels results that are not done).
  void pack_done(ResultMessage& r) {
    pack_record(r, experiment_.series, transport_.buffers()->for_send());
  }

  Transport& transport_;
  const Experiment& experiment_;
  WorkerOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_runner_, wake_main_;
  std::thread runner_;
  std::exception_ptr runner_error_;
  bool inject_fault_ = false;
  Clock::time_point last_sent_{}, last_heartbeat_{};
  std::deque<TaskMessage> queue_;
  std::vector<ResultMessage> results_;
  bool running_ = false, quit_ = false, stop_ = false;
  bool report_now_ = false;  // the main thread sends what results_ holds without waiting
  std::atomic<bool> storage_failed_{false};  // the runner could not write a result's series
  static constexpr double report_at_once_seconds = 1e-3;
  static constexpr std::size_t max_results_held = 256;
  bool timed_out_ = false, cancelled_by_master_ = false;
  Clock::time_point started_;
  std::atomic<bool> cancel_{false};
  // The running task's last RunContext::progress (-1: none yet), written by the runner thread.
  std::atomic<double> progress_{-1.0};
  std::uint64_t running_index_ = 0;
  double reported_progress_ = -1.0;
  Clock::time_point last_progress_{};
};

}  // namespace

int run_worker(Transport& transport, const Experiment& experiment, const WorkerOptions& options) {
  Worker worker(transport, experiment, options);
  try {
    return worker.run();
  } catch (const std::exception& e) {
    worker.fail(e.what());
  } catch (...) {
    worker.fail("unknown exception");
  }
}

}  // namespace mpisweep::runtime
