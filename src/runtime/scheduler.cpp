#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/scheduler.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mpisweep::runtime {

namespace {
constexpr std::size_t npos = static_cast<std::size_t>(-1);
}

Scheduler::Scheduler(std::size_t tasks, std::vector<int> workers, SchedulerOptions options)
    : Scheduler(std::vector<std::int32_t>(tasks, 0), std::move(workers), options) {}

Scheduler::Scheduler(std::vector<std::int32_t> prior_attempts, std::vector<int> workers,
                     SchedulerOptions options)
    : options_(options), attempts_(std::move(prior_attempts)) {
  if (workers.empty()) throw internal_error("scheduler needs at least one worker");
  for (std::size_t i = 0; i < attempts_.size(); ++i) queue_.push_back(i);
  for (int w : workers) {
    if (w < 0) throw internal_error("scheduler: a worker rank is negative");
    const auto r = static_cast<std::size_t>(w);
    if (r >= slot_by_rank_.size()) slot_by_rank_.resize(r + 1, npos);
    if (slot_by_rank_[r] != npos) continue;  // listed twice
    slot_by_rank_[r] = workers_.size();
    idle_.insert(workers_.size());
    workers_.push_back(w);
  }
  held_.assign(workers_.size(), 0);
  if (!options_.expected_seconds.empty()) order_longest_first(options_.expected_seconds);
  if (!options_.cost_class.empty()) order_by_measured_cost(std::move(options_.cost_class));
  options_.expected_seconds = {};
  options_.cost_class = {};
}

const std::size_t* Scheduler::slot_of(int worker) const {
  const auto r = static_cast<std::size_t>(worker);
  if (worker < 0 || r >= slot_by_rank_.size() || slot_by_rank_[r] == npos) return nullptr;
  return &slot_by_rank_[r];
}

void Scheduler::order_longest_first(const std::vector<double>& expected_seconds) {
  if (expected_seconds.size() != attempts_.size())
    throw internal_error("scheduler: one expected duration per task needed");
  std::stable_sort(queue_.begin(), queue_.end(), [&](std::size_t a, std::size_t b) {
    return expected_seconds[a] > expected_seconds[b];
  });
}

void Scheduler::order_by_measured_cost(std::vector<std::uint32_t> cost_class) {
  if (cost_class.size() != attempts_.size())
    throw internal_error("scheduler: one cost class per task needed");
  const std::uint32_t classes =
      cost_class.empty() ? 0 : *std::max_element(cost_class.begin(), cost_class.end()) + 1;
  class_of_ = std::move(cost_class);
  class_seconds_.assign(classes, 0.0);
  class_timed_.assign(classes, 0);
}

void Scheduler::learn_cost(std::size_t task, double wall_seconds) {
  if (class_of_.empty()) return;
  const auto cls = class_of_[task];
  class_seconds_[cls] += wall_seconds;
  unsorted_class_ |= ++class_timed_[cls] == 1;
  max_class_seconds_ =
      std::max(max_class_seconds_, class_seconds_[cls] / double(class_timed_[cls]));
  // Re-sort at 1, 2, 4, ... measured tasks (O(log n) sorts in all), and once a class is measured
  // for the first time as soon as a 64th of the queue has been measured since the last sort (each
  // sort of q tasks paid for by q/64 results), so a costly class learnt late still moves up.
  const bool due =
      timed_ >= next_sort_ || (unsorted_class_ && timed_ - last_sort_ >= queue_.size() / 64);
  if (!due) return;
  next_sort_ = 2 * timed_;
  last_sort_ = timed_;
  unsorted_class_ = false;
  // Key: the class's mean; for a class not measured yet, its first queued task goes first (a
  // probe, so its cost is learnt early) and the others take the mean of all tasks so far.
  std::vector<char> probed(class_timed_.size(), 0);
  std::vector<std::pair<double, std::size_t>> keyed;
  keyed.reserve(queue_.size());
  for (const std::size_t t : queue_) {
    const auto c = class_of_[t];
    double key = mean_task_seconds();
    if (class_timed_[c] > 0) {
      key = class_seconds_[c] / double(class_timed_[c]);
    } else if (!probed[c]) {
      probed[c] = 1;
      key = std::numeric_limits<double>::infinity();
    }
    keyed.emplace_back(key, t);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; i < keyed.size(); ++i) queue_[i] = keyed[i].second;
}

double Scheduler::expected_next_seconds() const {
  if (!class_of_.empty() && !queue_.empty()) {
    const auto c = class_of_[queue_.front()];
    if (class_timed_[c] > 0) return class_seconds_[c] / double(class_timed_[c]);
    return std::max(max_class_seconds_, mean_task_seconds());  // unknown: as the costliest
  }
  return mean_task_seconds();
}

std::size_t Scheduler::in_flight(int worker) const {
  const auto* slot = slot_of(worker);
  return slot ? held_[*slot] : 0;
}

std::optional<int> Scheduler::first_idle() const {
  if (idle_.empty()) return std::nullopt;
  return workers_[*idle_.begin()];
}

std::size_t Scheduler::batch_size() const {
  const double mean = expected_next_seconds();
  std::size_t b = 1;
  if (timed_ > 0 && mean > 0)
    b = static_cast<std::size_t>(
        std::clamp(options_.target_batch_seconds / mean, 1.0, double(options_.max_batch)));
  else if (timed_ > 0)
    b = options_.max_batch;
  // Keep the tail balanced: never more than half of an even share of what is left.
  const std::size_t share =
      queue_.size() / (2 * std::max<std::size_t>(workers_.size() - retired_, 1)) + 1;
  return std::min(b, share);
}

std::vector<std::size_t> Scheduler::assign(int worker, double now) {
  std::vector<std::size_t> out;
  const auto* slot = slot_of(worker);
  if (!slot || stopping_ || queue_.empty()) return out;
  const double mean = mean_task_seconds();
  if (options_.deadline && timed_ > 0 && now + mean > *options_.deadline) {
    deadline_reached_ = true;
    stopping_ = true;
    return out;
  }
  const std::size_t batch = batch_size();
  // Short tasks: hold up to two batches, so the next one is there when the first ends. Long (or
  // not yet measured) tasks: one at a time, so the tail is shared out evenly; but for big
  // results one in reserve while every worker can still get one (the result's round trip would
  // idle the worker for as long as the master takes to write it).
  const bool big = options_.prefetch_above_bytes > 0 && queue_.size() > workers_.size() &&
                   mean_result_bytes() >= double(options_.prefetch_above_bytes);
  const bool prefetch =
      timed_ > 0 && (expected_next_seconds() < options_.prefetch_below_seconds || big);
  const std::size_t limit = prefetch ? 2 * batch : 1;
  auto& held = held_[*slot];
  if (held > (prefetch ? batch : 0)) return out;
  while (held < limit && !queue_.empty()) {
    // With cost classes a batch keeps to one class: it was sized for that class's cost.
    if (!out.empty() && !class_of_.empty() && class_of_[queue_.front()] != class_of_[out[0]]) break;
    out.push_back(queue_.front());
    queue_.pop_front();
    ++held;
    ++in_flight_total_;
  }
  if (held > 0) idle_.erase(*slot);
  return out;
}

void Scheduler::retire(int worker) {
  const auto* slot = slot_of(worker);
  if (!slot) return;
  if (held_[*slot] > 0) throw internal_error("scheduler: retiring a worker that holds tasks");
  idle_.erase(*slot);
  slot_by_rank_[static_cast<std::size_t>(worker)] = npos;
  if (++retired_ == workers_.size()) stopping_ = true;
}

Scheduler::Verdict Scheduler::on_result(int worker, std::size_t task, TaskStatus status,
                                        double wall_seconds, std::size_t result_bytes) {
  const auto* slot = slot_of(worker);
  if (!slot || held_[*slot] == 0 || task >= attempts_.size())
    throw internal_error("scheduler: result for a task that is not in flight");
  if (--held_[*slot] == 0) idle_.insert(*slot);
  --in_flight_total_;
  if (status == TaskStatus::returned) {
    queue_.push_front(task);
    return Verdict::requeued;
  }
  ++attempts_[task];
  total_seconds_ += wall_seconds;
  total_bytes_ += double(result_bytes);
  ++timed_;
  learn_cost(task, wall_seconds);
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
