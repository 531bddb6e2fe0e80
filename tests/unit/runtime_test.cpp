// The master and a worker over in-process queues (the path of a one-rank run): what observers
// see, the progress a running task reports, and the error guard.
#include <mpisweep/runtime/context.hpp>
#include <mpisweep/runtime/master.hpp>
#include <mpisweep/runtime/worker.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

using namespace mpisweep;

namespace {

struct Seen final : runtime::MasterObserver {
  std::vector<std::pair<std::size_t, double>> progress;
  std::vector<std::pair<std::size_t, Outcome>> results;
  std::vector<bool> final;
  int finished = 0;
  void on_progress(std::size_t task, double f) override { progress.emplace_back(task, f); }
  void on_result(std::size_t task, const Outcome& o, bool fin) override {
    results.emplace_back(task, o);
    final.push_back(fin);
  }
  void on_finish(const runtime::MasterSummary&) override { ++finished; }
};

// Reports a quarter and three quarters, pausing so the worker's main thread sees each; the seed
// decides the result and whether it fails (seed 13 always does).
Experiment reporting() {
  Experiment e;
  e.name = "reporting";
  e.params = {{.name = "x", .type = ParamType::real, .default_value = 0.0}};
  e.metrics = {{.name = "twice_x"}};
  e.run = [](const Params& p, const RunContext& ctx) {
    if (ctx.seed == 13) throw error("unlucky seed");
    for (double f : {0.25, 0.75}) {
      ctx.progress(f);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    Result r;
    r.metrics["twice_x"] = 2 * p.get_real("x");
    return r;
  };
  return e;
}

runtime::MasterSummary run_local(const std::vector<TaskRecord>& tasks, int retries, Seen& seen) {
  auto ctx = runtime::make_local_context();
  const Experiment e = reporting();
  runtime::WorkerOptions wopt{1, 0, "node7"};
  wopt.progress_interval = 0;
  runtime::MasterSummary summary;
  runtime::run_ranks(
      *ctx,
      [&](runtime::Transport& t, const std::vector<int>& workers) {
        runtime::MasterObserver* observers[] = {&seen};
        runtime::MasterOptions o;
        o.scheduler.retries = retries;
        summary = runtime::run_master(
            t, workers, std::vector<std::int32_t>(tasks.size(), 0),
            [&](std::size_t i) { return tasks[i]; }, observers, o,
            [](const runtime::MasterSummary&) { return 0; });
        return 0;
      },
      [&](runtime::Transport& t) { return runtime::run_worker(t, e, wopt); });
  return summary;
}

}  // namespace

TEST(Runtime, ObserversSeeOutcomesWithHostAttemptsAndTaskProgress) {
  Seen seen;
  const auto summary = run_local({{11, 1, {Value{1.5}}}, {12, 2, {Value{-2.0}}}}, 0, seen);
  EXPECT_EQ(summary.done, 2u);
  EXPECT_EQ(seen.finished, 1);
  ASSERT_EQ(seen.results.size(), 2u);
  for (const auto& [task, o] : seen.results) {
    EXPECT_EQ(o.status, TaskStatus::done);
    EXPECT_EQ(o.host, "node7") << "from the worker's hello";
    EXPECT_EQ(o.attempts, 1);
    EXPECT_EQ(o.worker, 1);
    ASSERT_EQ(o.metrics.size(), 1u);
    EXPECT_EQ(o.metrics[0], task == 0 ? 3.0 : -4.0);
  }
  // Each task's own progress reached the master, in order, for the task that reported it.
  for (std::size_t task : {0u, 1u}) {
    std::vector<double> fractions;
    for (const auto& [t, f] : seen.progress)
      if (t == task) fractions.push_back(f);
    EXPECT_EQ(fractions, (std::vector<double>{0.25, 0.75})) << "task " << task;
  }
}

TEST(Runtime, ARetriedTaskCountsItsAttempts) {
  Seen seen;
  const auto summary = run_local({{21, 13, {Value{0.0}}}}, 1, seen);
  EXPECT_EQ(summary.failed, 1u);
  ASSERT_EQ(seen.results.size(), 2u);
  EXPECT_EQ(seen.results[0].second.attempts, 1);
  EXPECT_FALSE(seen.final[0]);
  EXPECT_EQ(seen.results[1].second.attempts, 2);
  EXPECT_TRUE(seen.final[1]);
  EXPECT_EQ(seen.results[1].second.status, TaskStatus::failed);
  EXPECT_EQ(seen.results[1].second.error, "unlucky seed");
}

TEST(Runtime, TheErrorGuardPrintsOneLineAndMapsTheExitCode) {
  auto ctx = runtime::make_local_context();
  testing::internal::CaptureStderr();
  const int bad_input =
      runtime::guarded(*ctx, []() -> int { throw input_error("f.toml:3", "expected a number"); });
  const int failure = runtime::guarded(*ctx, []() -> int { throw error("disk full"); });
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(bad_input, 2);
  EXPECT_EQ(failure, 3);
  EXPECT_EQ(printed, "mpisweep: f.toml:3: expected a number\nmpisweep: error: disk full\n");
  EXPECT_EQ(runtime::guarded(*ctx, [] { return 4; }), 4);
}

TEST(Runtime, LocalContextCollectivesAreTheIdentity) {
  auto ctx = runtime::make_local_context();
  runtime::SweepConfig c;
  c.experiment = "noop";
  c.task_timeout = 2.5;
  const auto back = runtime::broadcast(*ctx, c);
  EXPECT_EQ(back.experiment, "noop");
  EXPECT_EQ(back.task_timeout, 2.5);
  EXPECT_EQ(runtime::max_over_workers(*ctx, 6), 6) << "alone, the master's thread is the worker";
  EXPECT_EQ(runtime::gather_hosts(*ctx), ctx->host());
}
