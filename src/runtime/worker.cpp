#include <mpisweep/runtime/worker.hpp>

#include "protocol.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

namespace mpisweep::runtime {

std::string to_columns(const Experiment& experiment, Result&& result, TaskResult& out) {
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
  out.series.assign(experiment.series.size(), {});
  for (std::size_t i = 0; i < experiment.series.size(); ++i)
    if (auto it = result.series.find(experiment.series[i].name); it != result.series.end())
      out.series[i] = std::move(it->second);
  return {};
}

namespace {

using Clock = std::chrono::steady_clock;

// A task handed back unrun (drained or cancelled by the master): not an attempt.
TaskResult returned(const TaskSpec& t) {
  TaskResult r;
  r.index = t.index;
  r.row = t.row;
  r.id = t.id;
  r.status = TaskStatus::returned;
  r.attempts = t.attempts;
  return r;
}

class Worker {
 public:
  Worker(Transport& t, const Experiment& e, const WorkerOptions& o)
      : transport_(t), experiment_(e), options_(o) {}

  int run() {
    transport_.send(0, Tag::hello, pack(Hello{options_.host, options_.threads}));
    std::thread runner([this] { runner_loop(); });
    int code = 0;
    for (;;) {
      bool stop = false;
      while (auto m = transport_.poll()) {
        if (handle(*m, code)) stop = true;
      }
      std::vector<TaskResult> ready;
      {
        std::unique_lock lock(mutex_);
        ready.swap(results_);
        enforce_timeout();
        if (stop) stop_ = true;
        if (stop_ && queue_.empty() && !running_ && ready.empty()) break;
      }
      if (!ready.empty()) transport_.send(0, Tag::results, pack(ready));
      std::unique_lock lock(mutex_);
      if (results_.empty()) wake_main_.wait_for(lock, std::chrono::milliseconds(1));
    }
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_runner_.notify_all();
    runner.join();
    transport_.flush_sends();
    return code;
  }

 private:
  // Returns true on stop.
  bool handle(const Envelope& m, int& code) {
    switch (m.tag) {
      case Tag::tasks: {
        auto batch = unpack<std::vector<TaskSpec>>(m.bytes);
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
      case Tag::stop:
        code = unpack<std::int32_t>(m.bytes);
        return true;
      default:
        return false;
    }
  }

  // Caller holds mutex_.
  void enforce_timeout() {
    if (!running_ || options_.task_timeout <= 0 || timed_out_) return;
    if (std::chrono::duration<double>(Clock::now() - started_).count() > options_.task_timeout) {
      timed_out_ = true;
      cancel_.store(true);
    }
  }

  void runner_loop() {
    for (;;) {
      TaskSpec task;
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
      }
      TaskResult r = execute(task);
      {
        std::lock_guard lock(mutex_);
        if (cancelled_by_master_ && r.status != TaskStatus::done) {
          r = returned(task);
        } else if (timed_out_ && r.status != TaskStatus::done) {
          r.status = TaskStatus::timeout;
          r.error = "exceeded the task timeout of " + std::to_string(options_.task_timeout) + " s";
        }
        running_ = false;
        results_.push_back(std::move(r));
      }
      wake_main_.notify_one();
    }
  }

  TaskResult execute(const TaskSpec& task) {
    TaskResult r;
    r.index = task.index;
    r.row = task.row;
    r.id = task.id;
    r.attempts = task.attempts + 1;
    r.worker = transport_.rank();
    r.started = unix_now();
    const auto t0 = Clock::now();
    try {
      Params params;
      for (std::size_t i = 0; i < experiment_.params.size() && i < task.params.size(); ++i)
        params.set(experiment_.params[i].name, task.params[i]);
      RunContext ctx;
      ctx.seed = task.seed;
      ctx.task_id = task.id;   // the command kind's {task_id} and MPISWEEP_TASK_ID
      ctx.threads = options_.threads;
      ctx.cancel_flag = &cancel_;
      Result result = experiment_.run(params, ctx);
      r.error = to_columns(experiment_, std::move(result), r);
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
      r.metrics.clear();
      r.series.clear();
    }
    return r;
  }

  Transport& transport_;
  const Experiment& experiment_;
  WorkerOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_runner_, wake_main_;
  std::deque<TaskSpec> queue_;
  std::vector<TaskResult> results_;
  bool running_ = false, quit_ = false, stop_ = false;
  bool timed_out_ = false, cancelled_by_master_ = false;
  Clock::time_point started_;
  std::atomic<bool> cancel_{false};
};

}  // namespace

int run_worker(Transport& transport, const Experiment& experiment, const WorkerOptions& options) {
  return Worker(transport, experiment, options).run();
}

}  // namespace mpisweep::runtime
