#include <mpisweep/core/text.hpp>
#include <mpisweep/runtime/master.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

namespace mpisweep::runtime {

namespace {

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Columns of the terminal open as `fd` (80 when it does not say), or nothing if it is none.
std::optional<std::size_t> terminal_width(int fd) {
  if (isatty(fd) != 1) return std::nullopt;
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

// The terminal a person watches this process's stderr on, as its width: stderr itself, or,
// when the parent is Open MPI's launcher, the launcher's stderr. Measured with Open MPI 4.1.4:
// rank 0's stderr is a pipe into mpirun; its stdout is a pty even when mpirun's is a pipe; and
// /dev/tty opens whenever a terminal started the job, `mpirun ... 2>log` included. Only the
// launcher's own fd 2 says where its (and so our) stderr ends up.
std::optional<std::size_t> watched_terminal_width() {
  if (auto w = terminal_width(STDERR_FILENO)) return w;
  const std::string parent = "/proc/" + std::to_string(getppid());
  std::string comm;
  std::getline(std::ifstream(parent + "/comm"), comm);
  if (comm != "mpirun" && comm != "mpiexec" && comm != "orterun") return std::nullopt;
  // Opening a pipe or a socket through /proc is not what we want: only character devices.
  const std::string fd_path = parent + "/fd/2";
  struct stat st {};
  if (stat(fd_path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return std::nullopt;
  const int fd = open(fd_path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto w = terminal_width(fd);
  close(fd);
  return w;
}

// A wall time with the precision a short run needs: "0.84s", "42s", "3m05s".
std::string wall_text(double seconds) {
  if (seconds >= 10) return format_duration(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", seconds);
  return buf;
}

std::string rate_text(double rate) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3g tasks/s", rate);
  return buf;
}

}  // namespace

std::string progress_text(std::size_t done, std::size_t failed, std::size_t total, double rate) {
  const std::size_t left = total > done + failed ? total - done - failed : 0;
  std::string text = std::to_string(done) + "/" + std::to_string(total) + " done, " +
                     std::to_string(failed) + " failed, " + rate_text(rate);
  if (left == 0) return text;
  const double eta = rate > 0 ? double(left) / rate : -1;
  text += ", ETA " + (eta < 0 ? "?" : eta < 0.5 ? "<1s" : format_duration(eta));
  return text;
}

ProgressMode resolve_progress_mode(ProgressMode mode) {
  if (mode != ProgressMode::automatic) return mode;
  return watched_terminal_width() ? ProgressMode::bar : ProgressMode::lines;
}

ProgressObserver::ProgressObserver(std::size_t total, std::size_t done, std::size_t failed,
                                   ProgressMode mode)
    : total_(total),
      done_(done),
      failed_(failed),
      mode_(resolve_progress_mode(mode)),
      start_(steady_seconds()),
      last_draw_(start_) {
  if (mode_ == ProgressMode::bar) width_ = watched_terminal_width().value_or(80);
  if (mode_ == ProgressMode::lines) {
    // A log says when the run began and how much of the sweep earlier runs settled.
    std::string text = "started: " + std::to_string(total - std::min(total, done + failed)) +
                       " of " + std::to_string(total) + " tasks to run";
    if (done + failed > 0)
      text += " (" + std::to_string(done) + " done, " + std::to_string(failed) + " failed before)";
    write_line(text);
  }
  if (mode_ == ProgressMode::bar) draw(true);
}

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
  if (mode_ == ProgressMode::none) return;
  char buf[160];
  std::snprintf(buf, sizeof buf, "signal %d: finishing running tasks (up to %s), then stopping",
                signal, format_duration(grace_seconds).c_str());
  write_line(buf);
}

void ProgressObserver::on_finish(const MasterSummary& summary) {
  if (mode_ == ProgressMode::none) return;
  const double elapsed = steady_seconds() - start_;
  const std::size_t settled = std::min(total_, done_ + failed_);
  std::string text =
      std::string(summary.stopped ? "stopped" : "finished") + ": " + std::to_string(done_) + "/" +
      std::to_string(total_) + " done, " + std::to_string(failed_) + " failed, " +
      std::to_string(total_ - settled) + " not run; this run " + std::to_string(finished_) +
      " in " + wall_text(elapsed) + ", " + rate_text(elapsed > 0 ? double(finished_) / elapsed : 0);
  write_line(text);
}

void ProgressObserver::draw(bool force) {
  if (mode_ == ProgressMode::none) return;
  const double now = steady_seconds();
  const double elapsed = now - start_;
  const double interval = mode_ == ProgressMode::bar ? 0.25 : std::clamp(elapsed / 10, 5.0, 60.0);
  if (!force && now - last_draw_ < interval) return;
  last_draw_ = now;
  const double rate = elapsed > 0 ? double(finished_) / elapsed : 0;
  std::string text = progress_text(done_, failed_, total_, rate);
  if (!running_.empty()) {
    double sum = 0;
    for (const auto& r : running_) sum += r.second;
    char buf[64];
    std::snprintf(buf, sizeof buf, "; %zu running at %.0f%%", running_.size(),
                  100 * sum / double(running_.size()));
    text += buf;
  }
  if (mode_ == ProgressMode::lines) {
    write_line(text);
    return;
  }
  constexpr std::size_t bar_width = 24;
  const double fraction = total_ > 0 ? double(done_ + failed_) / double(total_) : 1.0;
  const auto filled = static_cast<std::size_t>(std::min(1.0, fraction) * bar_width);
  std::string line =
      "mpisweep [" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "] " + text;
  // A line longer than the terminal wraps, and \r then redraws only its last part.
  if (line.size() + 1 > width_) line.resize(width_ - 1);
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

void ProgressObserver::write_line(const std::string& text) {
  const double elapsed = steady_seconds() - start_;
  if (mode_ == ProgressMode::bar)
    std::fprintf(stderr, "\r\033[Kmpisweep: %s\n", text.c_str());
  else
    std::fprintf(stderr, "mpisweep %s, elapsed %s: %s\n", local_time_text(unix_now()).c_str(),
                 format_duration(elapsed).c_str(), text.c_str());
  std::fflush(stderr);
}

}  // namespace mpisweep::runtime
