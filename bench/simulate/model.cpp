#include "model.hpp"

#include <mpisweep/archive/archive.hpp>
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/rng.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <thread>

namespace mpisweep::simulate {

namespace {

enum class Kind { to_worker, worker_poll, task_end, worker_send, to_master, master_step };

struct Event {
  double time;
  std::uint64_t seq;  // ties in time keep the order they were made in
  Kind kind;
  int worker;
  std::vector<std::size_t> tasks;  // batch sent to a worker, or results sent to the master
  bool operator>(const Event& o) const { return time > o.time || (time == o.time && seq > o.seq); }
};

struct WorkerState {
  std::deque<std::size_t> queue;     // taken by the main thread, for the runner
  std::vector<std::size_t> mailbox;  // arrived, not yet seen by the main thread
  std::vector<std::size_t> ready;    // results not yet sent
  double last_wake = 0;              // the main thread's last wake-up; it polls every period
  bool running = false, send_pending = false, poll_pending = false;
};

// The real master's poll times after it last found nothing at `idle_from`: it sleeps 20 us, then
// doubles up to 640 us (master.cpp: 20 << (idle_rounds - 1), idle_rounds capped at 6), and each
// sleep ends `late` after its time (timer slack, scheduling). Returns the first poll at or after
// `arrival` and adds the polls before it to `polls`.
double next_poll(double idle_from, double arrival, double late, std::size_t& polls) {
  double t = idle_from, step = 20e-6;
  for (int round = 1; t < arrival; ++round) {
    t += step + late;
    ++polls;
    if (round < 6) step *= 2;
    if (round >= 6 && t < arrival) {
      const double k = std::ceil((arrival - t) / (step + late));
      t += k * (step + late);
      polls += static_cast<std::size_t>(k);
    }
  }
  return t;
}

class Sim {
 public:
  Sim(const Workload& load, int workers, const Costs& c, const runtime::SchedulerOptions& o,
      bool scan)
      : load_(load),
        costs_(c),
        scan_(scan),
        workers_(static_cast<std::size_t>(workers)),
        started_(load.seconds.size(), -1.0) {
    std::vector<int> ranks(workers_.size());
    std::iota(ranks.begin(), ranks.end(), 1);
    sched_.emplace(load.seconds.size(), ranks, o);
    if (!load.expected.empty()) sched_->order_longest_first(load.expected);
    if (!load.cost_class.empty()) sched_->order_by_measured_cost(load.cost_class);
  }

  Outcome run() {
    // At start the master tops up every worker in rank order (master.cpp, run()).
    double t = 0;
    for (std::size_t w = 1; w <= workers_.size(); ++w) t = top_up(static_cast<int>(w), t);
    busy_ += t;
    schedule_master_free(t);
    while (!events_.empty()) {
      Event e = events_.top();
      events_.pop();
      now_ = e.time;
      switch (e.kind) {
        case Kind::to_worker: on_tasks(e.worker, e.tasks); break;
        case Kind::worker_poll: on_worker_poll(e.worker); break;
        case Kind::task_end: on_task_end(e.worker); break;
        case Kind::worker_send: on_worker_send(e.worker); break;
        case Kind::to_master: on_results_arrive(std::move(e)); break;
        case Kind::master_step: master_step(); break;
      }
    }
    if (sched_->completed() + sched_->failed() != load_.seconds.size())
      throw internal_error("simulation ended with tasks left over");
    return outcome();
  }

 private:
  void push(double time, Kind kind, int worker, std::vector<std::size_t> tasks = {}) {
    events_.push(Event{time, seq_++, kind, worker, std::move(tasks)});
  }

  WorkerState& worker(int w) { return workers_[static_cast<std::size_t>(w - 1)]; }

  // The master hands `w` what the scheduler gives it; returns the time after the send.
  double top_up(int w, double t) {
    auto batch = sched_->assign(w, t);
    if (batch.empty()) return t;
    t += costs_.master_message;
    push(t + costs_.latency, Kind::to_worker, w, std::move(batch));
    return t;
  }

  void on_tasks(int w, std::vector<std::size_t>& tasks) {
    auto& s = worker(w);
    s.mailbox.insert(s.mailbox.end(), tasks.begin(), tasks.end());
    if (s.poll_pending) return;
    s.poll_pending = true;
    const double period = costs_.worker_poll + costs_.wake;  // each timed wait ends late
    const double ticks = std::ceil((now_ - s.last_wake) / period);
    push(s.last_wake + std::max(ticks, 1.0) * period, Kind::worker_poll, w);
  }

  // The main thread moves what arrived to the runner's queue.
  void take_mailbox(int w) {
    auto& s = worker(w);
    s.last_wake = now_;
    for (auto i : s.mailbox) s.queue.push_back(i);
    s.mailbox.clear();
    if (!s.running) start_next(w, costs_.wake);  // the runner sleeps on an empty queue
  }

  void on_worker_poll(int w) {
    auto& s = worker(w);
    s.poll_pending = false;
    if (!s.mailbox.empty()) take_mailbox(w);
  }

  void start_next(int w, double delay = 0) {
    auto& s = worker(w);
    if (s.queue.empty()) return;
    const std::size_t i = s.queue.front();
    s.queue.pop_front();
    s.running = true;
    started_[i] = now_ + delay + costs_.worker_task;
    last_start_ = std::max(last_start_, started_[i]);
    running_task_[w] = i;
    push(started_[i] + load_.seconds[i], Kind::task_end, w);
  }

  void on_task_end(int w) {
    auto& s = worker(w);
    s.ready.push_back(running_task_[w]);
    last_end_ = std::max(last_end_, now_);
    s.running = false;
    start_next(w);
    if (!s.send_pending) {
      s.send_pending = true;
      push(now_ + costs_.worker_send + costs_.wake, Kind::worker_send, w);
    }
  }

  void on_worker_send(int w) {
    auto& s = worker(w);
    s.send_pending = false;
    take_mailbox(w);  // the loop polls before it sends
    push(now_ + costs_.latency, Kind::to_master, w, std::move(s.ready));
    s.ready.clear();
  }

  void on_results_arrive(Event e) {
    inbox_.push_back(std::move(e));
    max_wait_ = std::max(max_wait_, inbox_.size());
    if (master_busy_ || step_scheduled_) return;
    step_scheduled_ = true;
    push(next_poll(idle_from_, now_, costs_.wake, polls_), Kind::master_step, 0);
  }

  // One pass of the master's poll loop over one message: the results, then top-ups.
  void master_step() {
    step_scheduled_ = false;
    if (inbox_.empty()) {  // the poll after a busy stretch found nothing: sleep from now
      master_busy_ = false;
      idle_from_ = now_;
      return;
    }
    Event m = std::move(inbox_.front());
    inbox_.pop_front();
    master_busy_ = true;
    double t = now_ + costs_.master_message;
    for (auto i : m.tasks) {
      t += costs_.master_task;
      sched_->on_result(m.worker, i, TaskStatus::done, load_.seconds[i]);
    }
    ++messages_;
    t = top_up(m.worker, t);
    // The master's loop: every worker the scheduler's idle set holds, in rank order, until the
    // queue is empty or a worker is refused. `scan_` adds what the master cost before it kept
    // that set (it looked at every worker after each message); the decisions are the same.
    if (scan_ && sched_->queued() > 0) t += costs_.master_scan * double(workers_.size());
    while (sched_->queued() > 0) {
      const auto idle = sched_->first_idle();
      if (!idle) break;
      const std::size_t before = sched_->in_flight();
      t = top_up(*idle, t);
      if (sched_->in_flight() == before) break;
    }
    busy_ += t - now_;
    master_end_ = std::max(master_end_, t);
    schedule_master_free(t);
  }

  void schedule_master_free(double t) {
    // The loop polls again at once after handling a message.
    step_scheduled_ = true;
    master_busy_ = true;
    push(t, Kind::master_step, 0);
  }

  Outcome outcome() const {
    Outcome o;
    o.first_start = *std::min_element(started_.begin(), started_.end());
    o.last_end = last_end_;
    o.last_start = last_start_;
    o.work = std::accumulate(load_.seconds.begin(), load_.seconds.end(), 0.0);
    o.efficiency = o.work / (double(workers_.size()) * (o.last_end - o.first_start));
    o.master_busy = busy_ / std::max(last_end_, master_end_);
    o.messages = messages_;
    o.max_message_wait = max_wait_;
    o.polls = polls_;
    return o;
  }

  const Workload& load_;
  Costs costs_;
  bool scan_;
  std::vector<WorkerState> workers_;
  std::vector<double> started_;
  std::optional<runtime::Scheduler> sched_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::deque<Event> inbox_;
  std::map<int, std::size_t> running_task_;
  std::uint64_t seq_ = 0;
  double now_ = 0, idle_from_ = 0, busy_ = 0, last_end_ = 0, last_start_ = 0, master_end_ = 0;
  bool master_busy_ = true, step_scheduled_ = false;
  std::size_t messages_ = 0, max_wait_ = 0, polls_ = 0;
};

}  // namespace

Outcome run_sweep(const Workload& load, int workers, const Costs& costs,
                  const runtime::SchedulerOptions& options, bool scan) {
  if (workers < 1) throw error("--workers: at least 1");
  if (load.seconds.empty()) throw error("no tasks to simulate");
  return Sim(load, workers, costs, options, scan).run();
}

double measure_scan_cost(int workers) {
  std::vector<int> ranks(static_cast<std::size_t>(workers));
  std::iota(ranks.begin(), ranks.end(), 1);
  runtime::Scheduler s(std::size_t(workers) * 4, ranks);
  for (int w : ranks) s.assign(w, 0);  // one task in flight each, as in a running sweep
  std::size_t idle = 0, loops = 0;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < 0.05 || loops < 3) {
    for (int w : ranks) idle += s.in_flight(w) == 0;
    ++loops;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (idle != 0) throw internal_error("scan: a worker was idle");
  return elapsed / (double(loops) * double(workers));
}

double probe_wake(const volatile std::sig_atomic_t& stop) {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::microseconds(100);
  double late = 0;
  std::size_t n = 0;
  while (!stop || n == 0) {
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(period);
    late += std::chrono::duration<double>(Clock::now() - t0 - period).count();
    ++n;
  }
  return late / double(n);
}

std::vector<double> constant_durations(std::size_t n, double mean) {
  return std::vector<double>(n, mean);
}

// Lognormal with E[X] = mean: X = exp(mu + sigma Z), mu = ln(mean) - sigma^2 / 2.
std::vector<double> lognormal_durations(std::size_t n, double mean, double sigma,
                                        std::uint64_t seed) {
  Rng rng(seed);
  const double mu = std::log(mean) - 0.5 * sigma * sigma;
  std::vector<double> out(n);
  for (auto& x : out) x = std::exp(mu + sigma * rng.normal());
  return out;
}

// Pareto (type I) by inversion, X = x_m U^(-1/alpha) with E[X] = alpha x_m / (alpha - 1).
std::vector<double> pareto_durations(std::size_t n, double mean, double alpha, std::uint64_t seed) {
  if (alpha <= 1) throw error("--alpha: must exceed 1 for the mean to exist");
  Rng rng(seed);
  const double xm = mean * (alpha - 1) / alpha;
  std::vector<double> out(n);
  for (auto& x : out) x = xm * std::pow(1.0 - rng.uniform(), -1.0 / alpha);
  return out;
}

std::vector<double> archive_durations(const std::string& path) {
  auto reader = archive::Reader::open(path);
  const auto wall = reader.wall_seconds();
  const auto status = reader.status();
  std::vector<double> out;
  for (std::size_t i = 0; i < wall.size(); ++i)
    if (status[i] == archive::TaskStatus::done) out.push_back(wall[i]);
  if (out.empty()) throw error(path + ": no done tasks to take durations from");
  return out;
}

}  // namespace mpisweep::simulate
