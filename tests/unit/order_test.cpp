// [sweep] order = "longest_first" end to end in-process: the sweep file's keys parsed and
// checked, and SchedulerOptions' orders applied by the Scheduler it is given to.
#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/scheduler.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <gtest/gtest.h>

using namespace mpisweep;

namespace {
const char* head = "[sweep]\nname = \"t\"\nexperiment = \"noop\"\n";
const char* grid = "[grid]\nwork_us = [1, 5, 3]\n";
}  // namespace

TEST(Order, SweepKeys) {
  auto plain = sweep::parse_spec(std::string(head) + grid, "f.toml");
  EXPECT_FALSE(plain.longest_first);
  auto hint = sweep::parse_spec(
      std::string(head) + "order = \"longest_first\"\ncost = \"work_us\"\n" + grid, "f.toml");
  EXPECT_TRUE(hint.longest_first);
  EXPECT_EQ(hint.cost, "work_us");
  auto measured =
      sweep::parse_spec(std::string(head) + "order = \"longest_first\"\n" + grid, "f.toml");
  EXPECT_EQ(measured.cost, "measured") << "the default cost";
  auto set = sweep::parse_spec(std::string(head) + grid, "f.toml",
                               {"sweep.order=longest_first", "sweep.cost=fail_rate"});
  EXPECT_TRUE(set.longest_first);
  EXPECT_EQ(set.cost, "fail_rate");
  EXPECT_THROW(sweep::parse_spec(std::string(head) + "order = 3\n", "f.toml"), input_error);
}

TEST(Order, SchedulerTakesTheHintFromItsOptions) {
  runtime::SchedulerOptions o;
  o.expected_seconds = {1, 5, 3, 5};
  runtime::Scheduler s(4, {1}, o);
  std::vector<std::size_t> order;
  while (s.queued() > 0) {
    const auto batch = s.assign(1, 0);
    ASSERT_EQ(batch.size(), 1u) << "nothing measured yet: one at a time";
    order.push_back(batch[0]);
    s.on_result(1, batch[0], TaskStatus::done, 1.0);
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 2, 0})) << "descending, ties in index order";
}

TEST(Order, SchedulerTakesCostClassesFromItsOptions) {
  // Classes 0 and 1 alternate; class 1 costs 10x more. After both are measured the queue is in
  // descending class cost: every remaining class-1 task before any class-0 task.
  runtime::SchedulerOptions o;
  o.cost_class = {0, 1, 0, 1, 0, 1, 0, 1};
  runtime::Scheduler s(8, {1}, o);
  std::vector<std::size_t> order;
  while (s.queued() > 0) {
    for (auto t : s.assign(1, 0)) {
      order.push_back(t);
      s.on_result(1, t, TaskStatus::done, t % 2 ? 1.0 : 0.1);
    }
  }
  ASSERT_EQ(order.size(), 8u);
  EXPECT_EQ(order[0], 0u);
  EXPECT_EQ(order[1], 1u) << "the unmeasured class goes out as a probe";
  EXPECT_EQ(std::vector<std::size_t>(order.begin() + 2, order.end()),
            (std::vector<std::size_t>{3, 5, 7, 2, 4, 6}));
}
