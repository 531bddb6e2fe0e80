#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/signals.hpp>

#include "protocol.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
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
        options_(o) {
    const int top = workers.empty() ? 0 : *std::max_element(workers.begin(), workers.end());
    watch_.resize(static_cast<std::size_t>(top) + 1);
  }

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
      check_liveness();
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
    s.lost = lost_;
    for (auto* o : observers_) o->on_finish(s);
    const std::int32_t code = exit_code(s);
    // With a rank lost the job cannot end by MPI_Finalize: the negated code tells the workers
    // that the master ends it by abort once the archive is closed, and that they wait for that.
    const std::int32_t stop = lost_.empty() ? code : -code;
    for (int w : workers_)
      if (!watch_[w].lost) transport_.send(w, Tag::stop, pack(stop));
    // A send to a frozen rank never completes; the job is aborted after the archive closes.
    if (lost_.empty()) transport_.flush_sends();
    return s;
  }

 private:
  void handle(Envelope& m) {
    if (!heard_from(m.source)) return;
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
        // Decoded one record at a time into one reused message: no allocation per result. The
        // message is kept (shared) by the encoded series that point into it, not copied.
        const auto message = shared_message(std::move(m.bytes), transport_.buffers());
        wire::Reader reader(*message);
        while (reader.remaining() > 0) {
          const std::size_t before = reader.remaining();
          get_result(reader, result_, message);
          Outcome& outcome = result_.outcome;
          const auto task = static_cast<std::size_t>(result_.index);
          release(m.source, task);
          const auto verdict = scheduler_.on_result(
              m.source, task, outcome.status, outcome.wall_seconds, before - reader.remaining());
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
      case Tag::heartbeat: on_heartbeat(m.source, unpack<Heartbeat>(m.bytes)); break;
      case Tag::fatal: on_fatal(m.source, unpack<FatalReport>(m.bytes)); break;
      default: break;
    }
  }

  // Sends `worker` what the scheduler gives it; false: nothing.
  bool top_up(int worker) {
    auto batch = scheduler_.assign(worker, unix_now());
    // Only assign() detects the deadline, so this is the one place to react to it.
    if (scheduler_.deadline_reached() && !stop_sent_) drain_all();
    if (batch.empty()) return false;
    hold(worker, batch);
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
      // Two signals at once (the launcher's SIGTERM): no grace, running tasks are cancelled.
      const double grace = stop_signal_count() > 1 ? 0 : options_.grace_seconds;
      for (auto* o : observers_) o->on_stop_signal(sig, grace);
    }
    const bool out_of_grace = seconds_since(stop_time_) > options_.grace_seconds;
    if (!cancel_sent_ && (stop_signal_count() > 1 || out_of_grace)) {
      for (int w : workers_)
        if (scheduler_.in_flight(w) > 0) transport_.send(w, Tag::cancel, {});
      cancel_sent_ = true;
    }
  }

  // --- Liveness (liveness.hpp): who holds what, who was heard from when, who is lost. ---

  // What the master knows of one worker rank.
  struct Watch {
    std::deque<std::size_t> held;  // tasks sent and not answered, oldest (running) first
    double front_since = 0;        // unix time the oldest held task became the oldest
    double heard = 0;              // attention_ when a message last came
    bool lost = false;
  };

  // Returns false for a lost worker (one that woke up after its tasks went elsewhere): its
  // messages are dropped.
  bool heard_from(int worker) {
    if (worker < 0 || std::size_t(worker) >= watch_.size()) return true;
    auto& w = watch_[std::size_t(worker)];
    w.heard = attention_;
    return !w.lost;
  }

  void hold(int worker, const std::vector<std::size_t>& batch) {
    auto& w = watch_[std::size_t(worker)];
    if (w.held.empty()) w.front_since = unix_now();
    w.held.insert(w.held.end(), batch.begin(), batch.end());
  }

  // A worker answers its tasks in order, except those it hands back unstarted.
  void release(int worker, std::size_t task) {
    auto& w = watch_[std::size_t(worker)];
    if (!w.held.empty() && w.held.front() == task) {
      w.held.pop_front();
      w.front_since = unix_now();
    } else if (auto it = std::find(w.held.begin(), w.held.end(), task); it != w.held.end()) {
      w.held.erase(it);
    }
  }

  // A task running past --task-timeout plus --grace on a worker that keeps sending heartbeats:
  // the worker cancelled it and the task ignores that (the worker's own timeout is not enough).
  void on_heartbeat(int worker, const Heartbeat& h) {
    if (options_.task_timeout <= 0 || h.running < 0) return;
    const double limit = options_.task_timeout + options_.grace_seconds;
    if (h.running_seconds <= limit) return;
    char why[160];
    std::snprintf(why, sizeof why,
                  "its task has run %.0f s, past --task-timeout %g s plus --grace %g s, and "
                  "ignores its cancellation",
                  h.running_seconds, options_.task_timeout, options_.grace_seconds);
    lose(worker, why, TaskStatus::timeout);
  }

  void on_fatal(int worker, const FatalReport& f) {
    if (host_of(worker).empty()) host_of(worker) = f.host;
    transport_.send(worker, Tag::stop, pack(std::int32_t{3}));  // the acknowledgement
    lose(worker, "failed: " + f.what, f.storage ? TaskStatus::returned : TaskStatus::failed);
  }

  // Called every loop: about 4 times a second, loses every worker silent for too long. Silence is
  // counted in the master's own attention: a stall of the master (a slow flush) counts at most
  // one second, so heartbeats waiting in its queue do not make every worker look lost.
  void check_liveness() {
    const auto now = Clock::now();
    const double gap = std::chrono::duration<double>(now - last_liveness_check_).count();
    if (gap < 0.25) return;
    last_liveness_check_ = now;
    attention_ += std::min(gap, 1.0);
    for (int w : workers_) {
      const auto& watch = watch_[std::size_t(w)];
      if (watch.lost || attention_ - watch.heard <= options_.lost_after_seconds) continue;
      char why[96];
      std::snprintf(why, sizeof why, "sent nothing for %.1f s", attention_ - watch.heard);
      lose(w, why, TaskStatus::timeout);
    }
  }

  // Gives up on `worker`: the task it runs is an attempt with `running` status (retried by the
  // retry rule), the others it holds never started and go back to the queue; the idle workers
  // get them at once.
  void lose(int worker, const std::string& reason, TaskStatus running) {
    auto& w = watch_[std::size_t(worker)];
    if (w.lost) return;
    w.lost = true;
    const std::string host = host_of(worker).empty() ? "?" : host_of(worker);
    lost_.push_back({worker, host, reason});
    const std::string error =
        "worker rank " + std::to_string(worker) + " on " + host + " lost: " + reason;
    std::size_t requeued = 0, recorded = 0;
    bool first = true;
    const double now = unix_now();
    for (const std::size_t task : std::exchange(w.held, {})) {
      const TaskStatus status = first ? running : TaskStatus::returned;
      first = false;
      const double wall = now - w.front_since;
      const auto verdict = scheduler_.on_result(worker, task, status, wall);
      if (verdict != Scheduler::Verdict::final) ++requeued;
      if (verdict == Scheduler::Verdict::requeued) continue;
      if (verdict == Scheduler::Verdict::final) ++recorded;
      Outcome o;
      o.status = status;
      o.worker = worker;
      o.host = host;
      o.started = w.front_since;
      o.wall_seconds = wall;
      o.error = error;
      o.attempts = scheduler_.attempts(task);
      for (auto* obs : observers_) obs->on_result(task, o, verdict == Scheduler::Verdict::final);
    }
    scheduler_.retire(worker);
    std::fprintf(stderr,
                 "%smpisweep: %s; %zu of its tasks go to other workers, %zu recorded as %s\n",
                 isatty(STDERR_FILENO) == 1 ? "\r\033[K" : "", error.c_str(), requeued, recorded,
                 std::string(to_string(running)).c_str());
    std::fflush(stderr);
    for (int other : workers_)
      if (!watch_[std::size_t(other)].lost && scheduler_.in_flight(other) == 0) top_up(other);
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
  std::vector<Watch> watch_;  // by rank
  std::vector<LostWorker> lost_;
  double attention_ = 0;  // seconds the master has been listening
  Clock::time_point last_liveness_check_ = Clock::now();
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
