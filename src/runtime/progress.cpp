#include <mpisweep/core/text.hpp>
#include <mpisweep/runtime/master.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace mpisweep::runtime {

namespace {
double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string progress_text(std::size_t done, std::size_t failed, std::size_t total, double rate) {
  char buf[160];
  const std::size_t left = total > done + failed ? total - done - failed : 0;
  const std::string eta = left == 0  ? "0s"
                          : rate > 0 ? format_duration(double(left) / rate)
                                     : std::string("?");
  std::snprintf(buf, sizeof buf, "%zu/%zu done, %zu failed, %.3g tasks/s, ETA %s", done, total,
                failed, rate, eta.c_str());
  return buf;
}

ProgressObserver::ProgressObserver(std::size_t total, std::size_t done, std::size_t failed)
    : total_(total),
      done_(done),
      failed_(failed),
      tty_(isatty(STDERR_FILENO) == 1),
      start_(steady_seconds()),
      last_draw_(start_) {}

void ProgressObserver::on_result(std::size_t task, const Outcome& outcome, bool final) {
  std::erase_if(running_, [task](const auto& r) { return r.first == task; });
  if (!final) return;
  ++finished_;
  ++(outcome.status == TaskStatus::done ? done_ : failed_);
  draw(false);
}

void ProgressObserver::on_progress(std::size_t task, double fraction) {
  auto it = std::find_if(running_.begin(), running_.end(),
                         [task](const auto& r) { return r.first == task; });
  if (it == running_.end())
    running_.emplace_back(task, fraction);
  else
    it->second = fraction;
}

void ProgressObserver::on_stop_signal(int signal, double grace_seconds) {
  std::fprintf(stderr, "%smpisweep: signal %d: finishing running tasks (up to %s), then stopping\n",
               tty_ ? "\r\033[K" : "", signal, format_duration(grace_seconds).c_str());
}

void ProgressObserver::on_finish(const MasterSummary&) { draw(true); }

void ProgressObserver::draw(bool final) {
  const double now = steady_seconds();
  if (!final && now - last_draw_ < (tty_ ? 0.25 : 5.0)) return;
  last_draw_ = now;
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? double(finished_) / elapsed : 0;
  std::string text = progress_text(done_, failed_, total_, rate);
  if (!final && !running_.empty()) {
    double sum = 0;
    for (const auto& r : running_) sum += r.second;
    char buf[64];
    std::snprintf(buf, sizeof buf, "; %zu running at %.0f%%", running_.size(),
                  100 * sum / double(running_.size()));
    text += buf;
  }
  if (tty_)
    std::fprintf(stderr, "\r\033[Kmpisweep: %s%s", text.c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "mpisweep: %s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace mpisweep::runtime
