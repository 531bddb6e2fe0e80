#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/signals.hpp>

#include "protocol.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <unordered_map>

namespace mpisweep::runtime {

std::string progress_text(std::size_t done, std::size_t failed, std::size_t total, double rate) {
  char buf[160];
  const std::size_t left = total > done + failed ? total - done - failed : 0;
  std::snprintf(buf, sizeof buf, "%zu/%zu done, %zu failed, %.3g tasks/s, ETA %s", done, total,
                failed, rate, left == 0 ? "0s" : rate > 0 ? format_duration(double(left) / rate).c_str() : "?");
  return buf;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Master {
 public:
  Master(Transport& t, const std::vector<int>& workers, std::vector<std::int32_t> prior,
         const std::function<TaskSpec(std::size_t)>& make_task, MasterObserver& obs,
         const MasterOptions& o)
      : transport_(t),
        workers_(workers),
        scheduler_(std::move(prior), workers, o.scheduler),
        make_task_(make_task),
        observer_(obs),
        options_(o),
        tty_(isatty(STDERR_FILENO) == 1) {}

  MasterSummary run(const std::function<int(const MasterSummary&)>& exit_code) {
    start_ = last_tick_ = last_progress_ = Clock::now();
    for (int w : workers_) top_up(w);
    int idle_rounds = 0;
    while (!scheduler_.finished()) {
      bool any = false;
      while (auto m = transport_.poll()) {
        any = true;
        handle(*m);
      }
      check_signals();
      periodic();
      if (any) {
        idle_rounds = 0;
      } else {
        // Back off from 20 us to 1 ms: responsive when tasks are tiny, idle when they are long.
        idle_rounds = std::min(idle_rounds + 1, 6);
        std::this_thread::sleep_for(std::chrono::microseconds(20 << (idle_rounds - 1)));
      }
    }
    observer_.on_tick();
    MasterSummary s;
    s.done = scheduler_.completed();
    s.failed = scheduler_.failed();
    s.not_run = scheduler_.queued();
    s.stopped = stop_sent_ || scheduler_.deadline_reached();
    print_progress(true);
    const std::int32_t code = exit_code(s);
    for (int w : workers_) transport_.send(w, Tag::stop, pack(code));
    transport_.flush_sends();
    return s;
  }

 private:
  void handle(const Envelope& m) {
    switch (m.tag) {
      case Tag::hello: {
        auto h = unpack<Hello>(m.bytes);
        observer_.on_hello(m.source, h.host, h.threads);
        break;
      }
      case Tag::results: {
        auto results = unpack<std::vector<TaskResult>>(m.bytes);
        for (auto& r : results) {
          const auto task = static_cast<std::size_t>(r.index);
          const auto verdict = scheduler_.on_result(m.source, task, r.status, r.wall_seconds);
          if (verdict != Scheduler::Verdict::requeued) observer_.on_result(r);
          if (verdict == Scheduler::Verdict::final) ++finished_this_run_;
        }
        top_up(m.source);
        if (scheduler_.queued() > 0)
          for (int w : workers_)
            if (scheduler_.in_flight(w) == 0) top_up(w);
        break;
      }
      default:
        break;
    }
  }

  void top_up(int worker) {
    auto batch = scheduler_.assign(worker, unix_now());
    // Only assign() detects the deadline, so this is the one place to react to it.
    if (scheduler_.deadline_reached() && !stop_sent_) drain_all();
    if (batch.empty()) return;
    std::vector<TaskSpec> specs;
    specs.reserve(batch.size());
    for (auto i : batch) {
      specs.push_back(make_task_(i));
      specs.back().index = i;
      specs.back().attempts = scheduler_.attempts(i);
    }
    transport_.send(worker, Tag::tasks, pack(specs));
  }

  void drain_all() {
    for (int w : workers_)
      if (scheduler_.in_flight(w) > 0) transport_.send(w, Tag::drain, {});
    stop_sent_ = true;
    stop_time_ = Clock::now();
  }

  void check_signals() {
    const int sig = stop_signal();
    if (!sig) return;
    if (!stop_sent_) {
      scheduler_.stop();
      drain_all();
      if (options_.progress)
        std::fprintf(stderr, "%smpisweep: signal %d: finishing running tasks (up to %s), then stopping\n",
                     tty_ ? "\r\033[K" : "", sig, format_duration(options_.grace_seconds).c_str());
    }
    const bool out_of_grace = seconds_since(stop_time_) > options_.grace_seconds;
    if (!cancel_sent_ && (stop_signal_count() > 1 || out_of_grace)) {
      for (int w : workers_)
        if (scheduler_.in_flight(w) > 0) transport_.send(w, Tag::cancel, {});
      cancel_sent_ = true;
    }
  }

  void periodic() {
    if (seconds_since(last_tick_) >= options_.tick_seconds) {
      observer_.on_tick();
      last_tick_ = Clock::now();
    }
    print_progress(false);
  }

  void print_progress(bool final) {
    if (!options_.progress) return;
    const double since = seconds_since(last_progress_);
    if (!final && since < (tty_ ? 0.25 : 5.0)) return;
    last_progress_ = Clock::now();
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? double(finished_this_run_) / elapsed : 0;
    const std::string text =
        progress_text(options_.already_done + scheduler_.completed(),
                      options_.already_failed + scheduler_.failed(), options_.total, rate);
    if (tty_)
      std::fprintf(stderr, "\r\033[Kmpisweep: %s%s", text.c_str(), final ? "\n" : "");
    else
      std::fprintf(stderr, "mpisweep: %s\n", text.c_str());
    std::fflush(stderr);
  }

  Transport& transport_;
  std::vector<int> workers_;
  Scheduler scheduler_;
  const std::function<TaskSpec(std::size_t)>& make_task_;
  MasterObserver& observer_;
  MasterOptions options_;
  bool tty_;
  Clock::time_point start_, last_tick_, last_progress_, stop_time_;
  std::size_t finished_this_run_ = 0;
  bool stop_sent_ = false, cancel_sent_ = false;
};

}  // namespace

void send_stop(Transport& transport, int worker, int code) {
  transport.send(worker, Tag::stop, pack(std::int32_t{code}));
}

MasterSummary run_master(Transport& transport, const std::vector<int>& workers,
                         std::vector<std::int32_t> prior_attempts,
                         const std::function<TaskSpec(std::size_t)>& make_task,
                         MasterObserver& observer, const MasterOptions& options,
                         const std::function<int(const MasterSummary&)>& exit_code) {
  return Master(transport, workers, std::move(prior_attempts), make_task, observer, options)
      .run(exit_code);
}

}  // namespace mpisweep::runtime
