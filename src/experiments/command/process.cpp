#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/process.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mpisweep::command {

namespace {

using Clock = std::chrono::steady_clock;

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = o.fd_;
    o.fd_ = -1;
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void fail_errno(const std::string& what, int err = errno) {
  throw error(what + ": " + std::strerror(err));
}

// stdin is a memory file, not a pipe: the process may read it or not, at its pace, and we never
// block on a full pipe or take a SIGPIPE when it exits without reading.
Fd stdin_file(const std::string& data) {
  Fd fd(memfd_create("mpisweep-stdin", MFD_CLOEXEC));
  if (fd.get() < 0) fail_errno("memfd_create");
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("write stdin file");
    off += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) fail_errno("lseek stdin file");
  return fd;
}

// Keeps stdout's last line (the result object may be there) and what little precedes it, in
// bounded memory however much the program prints.
void keep_last_line(std::string& buf, const char* data, std::size_t n) {
  buf.append(data, n);
  constexpr std::size_t soft = std::size_t{1} << 20, hard = std::size_t{64} << 20;
  if (buf.size() <= soft) return;
  const std::size_t end = buf.find_last_not_of(" \t\r\n");
  const std::size_t nl = end == std::string::npos ? std::string::npos : buf.rfind('\n', end);
  if (nl != std::string::npos) buf.erase(0, nl + 1);
  if (buf.size() > hard) buf.erase(0, buf.size() - hard);  // a line this long is no result
}

void keep_tail(std::string& buf, const char* data, std::size_t n, std::size_t keep) {
  buf.append(data, n);
  if (buf.size() > 2 * keep) buf.erase(0, buf.size() - keep);
}

struct SpawnAttr {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttr() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

std::string tail_lines(const std::string& text, int lines, std::size_t max_chars) {
  std::vector<std::string> kept;
  std::size_t end = text.size();
  while (end > 0 && static_cast<int>(kept.size()) < lines) {
    const std::size_t nl = text.rfind('\n', end - 1);
    const std::size_t begin = nl == std::string::npos ? 0 : nl + 1;
    std::string line = text.substr(begin, end - begin);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) kept.push_back(std::move(line));
    if (nl == std::string::npos) break;
    end = nl;
  }
  std::string out;
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) out += (out.empty() ? "" : " | ") + *it;
  if (out.size() > max_chars) out = "..." + out.substr(out.size() - (max_chars - 3));
  return out;
}

Exit run_process(const Launch& l) {
  if (l.argv.empty() || l.argv[0].empty()) throw error("no program to run");
  Fd in = stdin_file(l.stdin_data);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail_errno("pipe");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) fail_errno("pipe");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  SpawnAttr sa;
  // dup2 clears close-on-exec on the target, so only fds 0-2 reach the program.
  posix_spawn_file_actions_adddup2(&sa.actions, in.get(), 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&sa.actions, err_w.get(), 2);
  if (!l.cwd.empty()) posix_spawn_file_actions_addchdir_np(&sa.actions, l.cwd.c_str());
  // Its own process group, so one kill(-pgid) reaches everything it starts. Signals the worker
  // handles or ignores start at their defaults, and none is blocked (the runner thread's mask
  // would otherwise be inherited).
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT, SIGCHLD})
    sigaddset(&defaults, s);
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                         POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);

  std::vector<char*> argv, envp;
  for (const auto& a : l.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : l.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const bool search = l.argv[0].find('/') == std::string::npos;
  const int rc =
      search ? ::posix_spawnp(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp.data())
             : ::posix_spawn(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp.data());
  if (rc != 0) {
    if (rc == ENOENT && !l.cwd.empty() && ::access(l.cwd.c_str(), F_OK) != 0)
      fail_errno("cannot enter the task's workdir '" + l.cwd + "'", rc);
    fail_errno("cannot start '" + l.argv[0] + "'", rc);
  }
  // Should anything below throw, the group still dies and the process is reaped.
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (done) return;
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  } reaper{pid};
  in.reset();
  out_w.reset();
  err_w.reset();

  // A pidfd wakes poll() the moment the process exits; kernels before 5.3 fall back to a short
  // poll timeout.
  // (The raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C", and older glibcs lack it.)
#ifdef SYS_pidfd_open
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  Fd pidfd;
#endif
  Exit result;
  bool exited = false, term_sent = false, kill_sent = false;
  Clock::time_point term_at, exited_at;
  char buf[65536];
  for (;;) {
    if (!exited) {
      // WNOWAIT: look without reaping, so the group id stays ours until we have killed the rest
      // of the group; only then is the process reaped and its pid free for reuse.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
        exited_at = Clock::now();
        ::kill(-pid, SIGKILL);  // whatever it left behind in its group
        pidfd.reset();
      }
    }
    if (exited && out_r.get() < 0 && err_r.get() < 0) break;
    // Something outside the group (it called setsid) may hold the pipes open: stop reading.
    if (exited && Clock::now() - exited_at > std::chrono::seconds(1)) break;
    if (!exited && !term_sent && l.cancel && l.cancel->load(std::memory_order_relaxed)) {
      ::kill(-pid, SIGTERM);
      term_sent = true;
      term_at = Clock::now();
      result.cancelled = true;
    }
    if (term_sent && !kill_sent &&
        Clock::now() - term_at > std::chrono::duration<double>(l.kill_grace)) {
      ::kill(-pid, SIGKILL);
      kill_sent = true;
    }
    pollfd fds[3];
    nfds_t n = 0;
    if (out_r.get() >= 0) fds[n++] = {out_r.get(), POLLIN, 0};
    if (err_r.get() >= 0) fds[n++] = {err_r.get(), POLLIN, 0};
    if (!exited && pidfd.get() >= 0) fds[n++] = {pidfd.get(), POLLIN, 0};
    const int timeout_ms = exited ? 50 : pidfd.get() >= 0 ? 20 : 2;
    if (::poll(fds, n, timeout_ms) < 0 && errno != EINTR) fail_errno("poll");
    for (nfds_t k = 0; k < n; ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Fd* fd = fds[k].fd == out_r.get() ? &out_r : fds[k].fd == err_r.get() ? &err_r : nullptr;
      if (!fd) continue;
      const ssize_t got = ::read(fd->get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        fd->reset();
        continue;
      }
      if (fd == &out_r)
        keep_last_line(result.stdout_tail, buf, static_cast<std::size_t>(got));
      else
        keep_tail(result.stderr_tail, buf, static_cast<std::size_t>(got), l.stderr_keep);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  reaper.done = true;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  if (result.stderr_tail.size() > l.stderr_keep)
    result.stderr_tail.erase(0, result.stderr_tail.size() - l.stderr_keep);
  return result;
}

}  // namespace mpisweep::command
