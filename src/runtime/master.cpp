#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/signals.hpp>

#include "protocol.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace mpisweep::runtime {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Master {
 public:
  Master(Transport& t, const std::vector<int>& workers, std::vector<std::int32_t> prior,
         const std::function<TaskRecord(std::size_t)>& make_task,
         std::span<MasterObserver* const> observers, const MasterOptions& o)
      : transport_(t),
        workers_(workers),
        scheduler_(std::move(prior), workers, o.scheduler),
        make_task_(make_task),
        observers_(observers),
        options_(o) {}

  MasterSummary run(const std::function<int(const MasterSummary&)>& exit_code) {
    last_tick_ = Clock::now();
    for (int w : workers_) top_up(w);
    int idle_rounds = 0;
    while (!scheduler_.finished()) {
      bool any = false;
      while (auto m = transport_.poll()) {
        any = true;
        handle(*m);
      }
      check_signals();
      if (seconds_since(last_tick_) >= options_.tick_seconds) {
        for (auto* o : observers_) o->on_tick();
        last_tick_ = Clock::now();
      }
      if (any) {
        idle_rounds = 0;
      } else {
        // Back off from 20 us to 1 ms: responsive when tasks are tiny, idle when they are long.
        idle_rounds = std::min(idle_rounds + 1, 6);
        std::this_thread::sleep_for(std::chrono::microseconds(20 << (idle_rounds - 1)));
      }
    }
    for (auto* o : observers_) o->on_tick();
    MasterSummary s;
    s.done = scheduler_.completed();
    s.failed = scheduler_.failed();
    s.not_run = scheduler_.queued();
    s.stopped = stop_sent_ || scheduler_.deadline_reached();
    for (auto* o : observers_) o->on_finish(s);
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
        host_of(m.source) = h.host;
        for (auto* o : observers_) o->on_hello(m.source, h.host, h.threads);
        break;
      }
      case Tag::progress: {
        const auto p = unpack<ProgressMessage>(m.bytes);
        for (auto* o : observers_) o->on_progress(static_cast<std::size_t>(p.index), p.fraction);
        break;
      }
      case Tag::results: {
        // Decoded one record at a time into one reused message: no allocation per result.
        wire::Reader reader(m.bytes);
        while (reader.remaining() > 0) {
          get_result(reader, result_);
          Outcome& outcome = result_.outcome;
          const auto task = static_cast<std::size_t>(result_.index);
          const auto verdict =
              scheduler_.on_result(m.source, task, outcome.status, outcome.wall_seconds);
          if (verdict == Scheduler::Verdict::requeued) continue;
          outcome.attempts = scheduler_.attempts(task);
          outcome.host = host_of(m.source);
          for (auto* o : observers_)
            o->on_result(task, outcome, verdict == Scheduler::Verdict::final);
        }
        top_up(m.source);
        // Then every worker holding nothing, in worker order, from the scheduler's idle set (a
        // scan of all workers cost 0.5-1.2 ms a message at 10,000). An idle worker is refused
        // work only when the scheduler stops (signal, deadline): then none gets any.
        while (scheduler_.queued() > 0) {
          const auto idle = scheduler_.first_idle();
          if (!idle || !top_up(*idle)) break;
        }
        break;
      }
      default: break;
    }
  }

  // Sends `worker` what the scheduler gives it; false: nothing.
  bool top_up(int worker) {
    auto batch = scheduler_.assign(worker, unix_now());
    // Only assign() detects the deadline, so this is the one place to react to it.
    if (scheduler_.deadline_reached() && !stop_sent_) drain_all();
    if (batch.empty()) return false;
    // Each task encoded once, straight into the message.
    wire::Writer w(batch.size() * (sizeof(TaskHeader) + 32));
    for (auto i : batch) {
      const TaskRecord t = make_task_(i);
      put_task(w, i, t.seed, t.id, t.params);
    }
    transport_.send(worker, Tag::tasks, w.take());
    return true;
  }

  // Per rank, in a flat array: ranks are small dense integers.
  std::string& host_of(int rank) {
    const auto r = static_cast<std::size_t>(rank);
    if (r >= hosts_.size()) hosts_.resize(r + 1);
    return hosts_[r];
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
      for (auto* o : observers_) o->on_stop_signal(sig, options_.grace_seconds);
    }
    const bool out_of_grace = seconds_since(stop_time_) > options_.grace_seconds;
    if (!cancel_sent_ && (stop_signal_count() > 1 || out_of_grace)) {
      for (int w : workers_)
        if (scheduler_.in_flight(w) > 0) transport_.send(w, Tag::cancel, {});
      cancel_sent_ = true;
    }
  }

  Transport& transport_;
  std::vector<int> workers_;
  Scheduler scheduler_;
  const std::function<TaskRecord(std::size_t)>& make_task_;
  std::span<MasterObserver* const> observers_;
  MasterOptions options_;
  std::vector<std::string> hosts_;  // by rank, from the workers' hellos
  ResultMessage result_;            // the results case's one decoded record
  Clock::time_point last_tick_, stop_time_;
  bool stop_sent_ = false, cancel_sent_ = false;
};

}  // namespace

void send_stop(Transport& transport, int worker, int code) {
  transport.send(worker, Tag::stop, pack(std::int32_t{code}));
}

MasterSummary run_master(Transport& transport, const std::vector<int>& workers,
                         std::vector<std::int32_t> prior_attempts,
                         const std::function<TaskRecord(std::size_t)>& make_task,
                         std::span<MasterObserver* const> observers, const MasterOptions& options,
                         const std::function<int(const MasterSummary&)>& exit_code) {
  return Master(transport, workers, std::move(prior_attempts), make_task, observers, options)
      .run(exit_code);
}

}  // namespace mpisweep::runtime
