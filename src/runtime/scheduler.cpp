#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/scheduler.hpp>

#include <algorithm>
#include <cmath>

namespace mpisweep::runtime {

Scheduler::Scheduler(std::size_t tasks, std::vector<int> workers, SchedulerOptions options)
    : Scheduler(std::vector<std::int32_t>(tasks, 0), std::move(workers), options) {}

Scheduler::Scheduler(std::vector<std::int32_t> prior_attempts, std::vector<int> workers,
                     SchedulerOptions options)
    : options_(options), attempts_(std::move(prior_attempts)) {
  if (workers.empty()) throw internal_error("scheduler needs at least one worker");
  for (std::size_t i = 0; i < attempts_.size(); ++i) queue_.push_back(i);
  for (int w : workers) in_flight_[w] = 0;
}

std::size_t Scheduler::in_flight(int worker) const {
  auto it = in_flight_.find(worker);
  return it == in_flight_.end() ? 0 : it->second;
}

std::size_t Scheduler::batch_size() const {
  const double mean = mean_task_seconds();
  std::size_t b = 1;
  if (timed_ > 0 && mean > 0)
    b = static_cast<std::size_t>(std::clamp(options_.target_batch_seconds / mean, 1.0,
                                            double(options_.max_batch)));
  else if (timed_ > 0)
    b = options_.max_batch;
  // Keep the tail balanced: never more than half of an even share of what is left.
  const std::size_t share = queue_.size() / (2 * in_flight_.size()) + 1;
  return std::min(b, share);
}

std::vector<std::size_t> Scheduler::assign(int worker, double now) {
  std::vector<std::size_t> out;
  auto it = in_flight_.find(worker);
  if (it == in_flight_.end() || stopping_ || queue_.empty()) return out;
  const double mean = mean_task_seconds();
  if (options_.deadline && timed_ > 0 && now + mean > *options_.deadline) {
    deadline_reached_ = true;
    stopping_ = true;
    return out;
  }
  const std::size_t batch = batch_size();
  // Short tasks: hold up to two batches, so the next one is there when the first ends. Long (or
  // not yet measured) tasks: one at a time, so the tail is shared out evenly.
  const bool prefetch = timed_ > 0 && mean < options_.prefetch_below_seconds;
  const std::size_t limit = prefetch ? 2 * batch : 1;
  if (it->second > (prefetch ? batch : 0)) return out;
  while (it->second < limit && !queue_.empty()) {
    out.push_back(queue_.front());
    queue_.pop_front();
    ++it->second;
    ++in_flight_total_;
  }
  return out;
}

Scheduler::Verdict Scheduler::on_result(int worker, std::size_t task, TaskStatus status,
                                        double wall_seconds) {
  auto it = in_flight_.find(worker);
  if (it == in_flight_.end() || it->second == 0 || task >= attempts_.size())
    throw internal_error("scheduler: result for a task that is not in flight");
  --it->second;
  --in_flight_total_;
  if (status == TaskStatus::returned) {
    queue_.push_front(task);
    return Verdict::requeued;
  }
  ++attempts_[task];
  total_seconds_ += wall_seconds;
  ++timed_;
  if (status == TaskStatus::done) {
    ++done_;
    return Verdict::final;
  }
  if (should_retry(status, attempts_[task], options_.retries)) {
    queue_.push_back(task);
    return Verdict::retry;
  }
  ++failed_;
  return Verdict::final;
}

}  // namespace mpisweep::runtime
