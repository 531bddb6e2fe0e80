#pragma once
// Starting one task's process and waiting for it: posix_spawn (never a shell) into a process
// group of its own, so a timeout or a stop can signal everything it started, grandchildren
// included. Used only by the command kind.
#include <atomic>
#include <string>
#include <vector>

namespace mpisweep::command {

struct Launch {
  std::vector<std::string> argv;              // argv[0] searched on PATH unless it contains a '/'
  std::vector<std::string> env;               // the complete environment, "NAME=value"
  std::string cwd;                            // empty: inherit
  std::string stdin_data;                     // what the process reads on stdin
  const std::atomic<bool>* cancel = nullptr;  // polled while the process runs
  double kill_grace = 2.0;         // seconds from SIGTERM to SIGKILL of the group on cancel
  std::size_t stderr_keep = 4096;  // bytes of stderr's tail kept
};

struct Exit {
  bool cancelled = false;   // the group was killed because `cancel` was set
  int exit_code = -1;       // when the process exited
  int signal = 0;           // when a signal killed it
  std::string stdout_tail;  // at least the last line of stdout (and up to 1 MiB before it)
  std::string stderr_tail;  // the last `stderr_keep` bytes of stderr
};

// Runs the process to its end. When it exits, whatever it left running in its process group is
// killed (a task leaves no orphans); on cancel the group gets SIGTERM, then SIGKILL after
// `kill_grace`. Always reaps. Throws mpisweep::error when the process cannot be started.
// Thread-safe: every descriptor is close-on-exec, so concurrent launches do not leak pipes.
Exit run_process(const Launch& launch);

// The last `lines` non-empty lines of `text`, joined by " | ", at most `max_chars` long.
std::string tail_lines(const std::string& text, int lines, std::size_t max_chars);

}  // namespace mpisweep::command
