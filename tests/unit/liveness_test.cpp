// The master's own view of its workers (liveness.hpp), over in-process queues with a real
// worker: a task that ignores its cancellation is caught by the heartbeats the worker keeps
// sending, and the liveness settings come from the environment with one-line errors.
#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/context.hpp>
#include <mpisweep/runtime/liveness.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/worker.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

using namespace mpisweep;

namespace {

struct Seen final : runtime::MasterObserver {
  std::vector<std::pair<std::size_t, Outcome>> results;
  void on_result(std::size_t task, const Outcome& o, bool) override {
    results.emplace_back(task, o);
  }
};

// Runs 1.5 s whatever its cancellation flag says, as an experiment stuck in a system call would.
Experiment stubborn() {
  Experiment e;
  e.name = "stubborn";
  e.run = [](const Params&, const RunContext&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return Result{};
  };
  return e;
}

}  // namespace

TEST(Liveness, ATaskIgnoringItsCancellationLosesItsWorker) {
  auto ctx = runtime::make_local_context();
  const Experiment e = stubborn();
  runtime::WorkerOptions wopt{1, 0.2, "node7"};
  wopt.heartbeat_seconds = 0.05;
  Seen seen;
  runtime::MasterSummary summary;
  const std::vector<TaskRecord> tasks = {{1, 1, {}}, {2, 2, {}}};
  const auto t0 = std::chrono::steady_clock::now();
  double lost_after = 0;
  testing::internal::CaptureStderr();
  runtime::run_ranks(
      *ctx,
      [&](runtime::Transport& t, const std::vector<int>& workers) {
        runtime::MasterObserver* observers[] = {&seen};
        runtime::MasterOptions o;
        o.task_timeout = 0.2;
        o.grace_seconds = 0.2;
        o.lost_after_seconds = 10;  // silence alone would take far longer: heartbeats flow
        summary = runtime::run_master(
            t, workers, std::vector<std::int32_t>(tasks.size(), 0),
            [&](std::size_t i) { return tasks[i]; }, observers, o,
            [](const runtime::MasterSummary&) { return 3; });
        lost_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        runtime::send_stop(t, 1, 3);  // a lost worker gets no stop; this thread must end
        return 0;
      },
      [&](runtime::Transport& t) { return runtime::run_worker(t, e, wopt); });
  const std::string printed = testing::internal::GetCapturedStderr();
  ASSERT_EQ(summary.lost.size(), 1u);
  EXPECT_EQ(summary.lost[0].rank, 1);
  EXPECT_EQ(summary.lost[0].host, "node7");
  EXPECT_NE(summary.lost[0].reason.find("ignores its cancellation"), std::string::npos)
      << summary.lost[0].reason;
  EXPECT_GT(lost_after, 0.4) << "not before timeout + grace";
  EXPECT_LT(lost_after, 1.4) << "before the task ends by itself";
  // The running task is an attempt, timed out; the second never started and is not run (no
  // worker is left), so it is not recorded at all.
  ASSERT_EQ(seen.results.size(), 1u);
  EXPECT_EQ(seen.results[0].first, 0u);
  EXPECT_EQ(seen.results[0].second.status, TaskStatus::timeout);
  EXPECT_EQ(seen.results[0].second.attempts, 1);
  EXPECT_EQ(seen.results[0].second.host, "node7");
  EXPECT_EQ(summary.not_run, 1u);
  EXPECT_EQ(summary.done, 0u);
  EXPECT_NE(printed.find("mpisweep: worker rank 1 on node7 lost: its task has run"),
            std::string::npos)
      << printed;
}

TEST(Liveness, SettingsComeFromTheEnvironmentWithOneLineErrors) {
  unsetenv("MPISWEEP_HEARTBEAT");
  unsetenv("MPISWEEP_LOST_AFTER");
  auto l = runtime::liveness_from_env();
  EXPECT_EQ(l.heartbeat_seconds, 1.0);
  EXPECT_EQ(l.lost_after_seconds, 10.0);
  setenv("MPISWEEP_HEARTBEAT", "5", 1);
  EXPECT_EQ(runtime::liveness_from_env().lost_after_seconds, 20.0) << "4 heartbeats";
  setenv("MPISWEEP_LOST_AFTER", "7", 1);
  EXPECT_THROW(runtime::liveness_from_env(), input_error) << "under two heartbeats";
  setenv("MPISWEEP_HEARTBEAT", "0.5", 1);
  EXPECT_EQ(runtime::liveness_from_env().lost_after_seconds, 7.0);
  setenv("MPISWEEP_LOST_AFTER", "soon", 1);
  try {
    runtime::liveness_from_env();
    FAIL() << "accepted 'soon'";
  } catch (const input_error& e) {
    EXPECT_STREQ(e.what(), "MPISWEEP_LOST_AFTER: expected seconds between 0 and 86400, got 'soon'");
  }
  unsetenv("MPISWEEP_HEARTBEAT");
  unsetenv("MPISWEEP_LOST_AFTER");
}
