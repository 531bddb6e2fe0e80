// Real processes: run_process and the command experiment, driven through /bin/sh scripts (the
// program under test may be anything; mpisweep itself never goes through a shell).
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/command/json.hpp>
#include <mpisweep/experiments/command/process.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace mpisweep;
using namespace mpisweep::command;
namespace fs = std::filesystem;

namespace {

extern "C" char** environ;

std::vector<std::string> current_env() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) out.emplace_back(*e);
  return out;
}

Launch sh(const std::string& script) {
  Launch l;
  l.argv = {"/bin/sh", "-c", script};
  l.env = current_env();
  return l;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh folder for one test.
fs::path scratch(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("mpisweep-command-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Orphans of the processes we start are re-parented to this test process (a subreaper), so it
// can tell by pid whether a grandchild really died: waitpid succeeds once it is dead, whatever
// the container's init does.
bool dies_within(pid_t pid, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) != 0)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

struct Subreaper : ::testing::Environment {
  void SetUp() override { prctl(PR_SET_CHILD_SUBREAPER, 1); }
};
const auto* const subreaper = ::testing::AddGlobalTestEnvironment(new Subreaper);

}  // namespace

TEST(CommandProcess, ReportsExitCodeSignalAndOutput) {
  Exit e = run_process(sh("echo one; echo two; echo err >&2; exit 7"));
  EXPECT_EQ(e.exit_code, 7);
  EXPECT_EQ(e.signal, 0);
  EXPECT_EQ(e.stdout_tail, "one\ntwo\n");
  EXPECT_EQ(e.stderr_tail, "err\n");
  e = run_process(sh("kill -SEGV $$"));
  EXPECT_EQ(e.signal, SIGSEGV);
  EXPECT_FALSE(e.cancelled);
}

TEST(CommandProcess, FeedsStdinAndRunsInCwd) {
  const fs::path d = scratch("cwd");
  Launch l = sh("cat; pwd");
  l.stdin_data = "{\"a\": 1}\n";
  l.cwd = d.string();
  const Exit e = run_process(l);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(e.stdout_tail, "{\"a\": 1}\n" + fs::canonical(d).string() + "\n");
  // A program that never reads stdin is fine too (no pipe to fill, no SIGPIPE).
  Launch quiet = sh("exit 0");
  quiet.stdin_data = std::string(1 << 20, 'x');
  EXPECT_EQ(run_process(quiet).exit_code, 0);
  fs::remove_all(d);
}

TEST(CommandProcess, BoundsWhatItKeeps) {
  // 3 MB of stdout then a last line; 100 KB of stderr: the last line survives whole, stderr is
  // cut to its tail.
  Launch l =
      sh("head -c 3000000 /dev/zero | tr '\\0' 'a'; echo; echo LAST; "
         "head -c 100000 /dev/zero | tr '\\0' 'e' >&2; echo END >&2");
  l.stderr_keep = 1000;
  const Exit e = run_process(l);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_LE(e.stdout_tail.size(), (std::size_t{2} << 20));
  EXPECT_EQ(e.stdout_tail.substr(e.stdout_tail.size() - 5), "LAST\n");
  EXPECT_EQ(e.stderr_tail.size(), 1000u);
  EXPECT_EQ(e.stderr_tail.substr(995), "eEND\n");
}

TEST(CommandProcess, UnknownProgramThrows) {
  Launch l;
  l.argv = {"/nonexistent/program"};
  EXPECT_THROW(run_process(l), mpisweep::error);
  l.argv = {"no-such-program-on-path-xyz"};
  l.env = current_env();
  EXPECT_THROW(run_process(l), mpisweep::error);
}

TEST(CommandProcess, CancelKillsChildAndGrandchild) {
  const fs::path d = scratch("cancel");
  const std::string pids = (d / "pids").string();
  // The grandchild ignores SIGTERM: only the SIGKILL after the grace reaches it.
  Launch l = sh("sh -c 'trap \"\" TERM; echo $$ >> " + pids + "; sleep 100' & echo $$ >> " + pids +
                "; sleep 100");
  std::atomic<bool> cancel{false};
  l.cancel = &cancel;
  l.kill_grace = 0.3;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const Exit e = run_process(l);
  t.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(e.cancelled);
  EXPECT_LT(took, 5.0);
  std::istringstream in(slurp(pids));
  std::vector<pid_t> ps;
  for (pid_t p; in >> p;) ps.push_back(p);
  ASSERT_EQ(ps.size(), 2u) << slurp(pids);
  for (pid_t p : ps) EXPECT_TRUE(dies_within(p, 2.0)) << "pid " << p << " survived";
  fs::remove_all(d);
}

TEST(CommandProcess, LeavesNoStragglerAfterExit) {
  const fs::path d = scratch("straggler");
  const std::string pidfile = (d / "pid").string();
  const Exit e = run_process(sh("sleep 100 & echo $! > " + pidfile + "; exit 0"));
  EXPECT_EQ(e.exit_code, 0);
  const pid_t p = std::stoi(slurp(pidfile));
  EXPECT_TRUE(dies_within(p, 2.0)) << "background child " << p << " survived its task";
  fs::remove_all(d);
}

TEST(CommandProcess, TailLines) {
  EXPECT_EQ(tail_lines("a\nb\n\nc\nd\n", 3, 100), "b | c | d");
  EXPECT_EQ(tail_lines("only", 3, 100), "only");
  EXPECT_EQ(tail_lines("0123456789", 1, 6), "...789");
  EXPECT_EQ(tail_lines("", 3, 100), "");
}
