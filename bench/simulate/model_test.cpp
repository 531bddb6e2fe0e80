#include "model.hpp"

#include <mpisweep/core/error.hpp>

#include <gtest/gtest.h>

#include <cmath>

using mpisweep::error;
using namespace mpisweep::simulate;

namespace {
// Free of every cost but the master's poll back-off (the worker polls all but continuously).
Costs free_costs() {
  Costs c;
  c.latency = c.master_message = c.master_task = c.master_scan = 0;
  c.worker_task = c.worker_send = c.wake = 0;
  c.worker_poll = 1e-9;
  return c;
}
}  // namespace

// One worker, ten 1 s tasks, sent one at a time. After handing out a task the master sleeps 20,
// 40, 80, 160, 320, 640 us and then 640 us at a time: polls at 20, 60, 140, 300, 620, 1260 us,
// then 1260 + 640 k. The result, at 1 s, is seen at the first poll after it: k = 1561, 1,000,300
// us. Every task but the first waits those 300 us, so the span is 10 s + 9 x 300 us.
TEST(SimulateModel, PollBackOffByHand) {
  Workload w;
  w.seconds.assign(10, 1.0);
  const Outcome o = run_sweep(w, 1, free_costs(), {});
  EXPECT_NEAR(o.last_end - o.first_start, 10.0 + 9 * 300e-6, 1e-7);
  EXPECT_NEAR(o.efficiency, 10.0 / (10.0 + 9 * 300e-6), 1e-8);
  EXPECT_EQ(o.messages, 10u);
  EXPECT_DOUBLE_EQ(o.work, 10.0);
}

// A master that needs 1 ms per message, received or sent, serves at most 1 / 2 ms = 500 tasks/s
// of 1 s tasks (one per message); 1,000 workers ask for 1,000/s, so they are busy about half the
// time, and the master all of it.
TEST(SimulateModel, SaturatedMasterHalvesEfficiency) {
  Workload w;
  w.seconds.assign(20000, 1.0);
  Costs c = free_costs();
  c.master_message = 1e-3;
  const Outcome o = run_sweep(w, 1000, c, {}, false);
  EXPECT_NEAR(o.efficiency, 0.5, 0.03);
  EXPECT_GT(o.master_busy, 0.97);
}

// Tiny tasks travel in batches with a reserve: 100,000 tasks of 10 us on two workers, 1 ms
// each way. One task per round trip would keep the workers busy 10 us in 2 ms (0.005); batches of
// 1,024 (10 ms of work) with a second in reserve hide the round trip; what remains is the start
// (one task until durations are known) and the tail, whose batches shrink to half an even share
// and so cost a round trip each once they hold less than 2 ms of work (about 3 % here).
TEST(SimulateModel, TinyTasksAreBatchedAndPrefetched) {
  Workload w;
  w.seconds.assign(100000, 1e-5);
  Costs c = free_costs();
  c.latency = 1e-3;
  const Outcome o = run_sweep(w, 2, c, {});
  EXPECT_GT(o.efficiency, 0.95);
}

// Lognormal and Pareto draws have the mean they are asked for (law of large numbers; the
// Pareto's variance is infinite for alpha 1.5, so only loosely) and are reproducible by seed.
TEST(SimulateModel, DurationDistributionsHaveTheirMean) {
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  };
  EXPECT_NEAR(mean(lognormal_durations(200000, 2.0, 0.5, 7)), 2.0, 0.01);
  EXPECT_NEAR(mean(pareto_durations(200000, 2.0, 3.0, 7)), 2.0, 0.02);
  EXPECT_NEAR(mean(pareto_durations(200000, 2.0, 1.5, 7)), 2.0, 0.3);
  EXPECT_EQ(lognormal_durations(10, 1.0, 1.0, 3), lognormal_durations(10, 1.0, 1.0, 3));
  EXPECT_THROW(pareto_durations(10, 1.0, 1.0, 3), error);
}
