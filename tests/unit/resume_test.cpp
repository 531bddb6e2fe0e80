#include <mpisweep/sweep/resume.hpp>

#include <gtest/gtest.h>

using namespace mpisweep;

namespace {
// 3 points x 2 seeds of noop: tasks 0-2 with seed 1, 3-5 with seed 2.
sweep::Spec six_tasks() {
  return sweep::parse_spec(
      "[sweep]\nname = \"r\"\nexperiment = \"noop\"\nseeds = 2\n[grid]\nwork_us = [1, 2, 3]\n",
      "r.toml");
}
}  // namespace

TEST(Resume, AFreshArchiveRunsEveryTaskAsNewRows) {
  const auto spec = six_tasks();
  const auto plan = sweep::reconcile(spec, {}, 0);
  ASSERT_EQ(plan.new_rows, 6u);
  ASSERT_EQ(plan.todo.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(plan.todo[i].row, i);
    EXPECT_EQ(plan.todo[i].task, i);
    EXPECT_EQ(plan.todo[i].attempts, 0);
    const auto row = sweep::task_record(spec, plan.todo[i].task);
    EXPECT_EQ(row.id, spec.tasks[i].id);
    EXPECT_EQ(row.seed, spec.tasks[i].seed);
    EXPECT_EQ(row.params, spec.points[spec.tasks[i].point]);
  }
  EXPECT_EQ(plan.done, 0u);
  EXPECT_EQ(plan.failed, 0u);
}

TEST(Resume, DonePendingFailedAndNewTasks) {
  const auto spec = six_tasks();
  // The archive holds tasks 4, 0, 1, 2 (in that row order) and a row the sweep no longer lists.
  std::vector<RowState> rows = {
      {spec.tasks[4].id, TaskStatus::done, 1},
      {spec.tasks[0].id, TaskStatus::failed, 1},   // retries=1: one more attempt
      {0xdeadULL, TaskStatus::pending, 0},         // not in the sweep: left alone
      {spec.tasks[1].id, TaskStatus::timeout, 2},  // out of retries
      {spec.tasks[2].id, TaskStatus::pending, 0},
  };
  const auto plan = sweep::reconcile(spec, rows, 1);
  EXPECT_EQ(plan.done, 1u);
  EXPECT_EQ(plan.failed, 1u);
  // Existing rows to run first, in the sweep's order, then tasks 3 and 5 as new rows 5 and 6.
  ASSERT_EQ(plan.todo.size(), 4u);
  EXPECT_EQ(plan.todo[0].row, 1u);
  EXPECT_EQ(plan.todo[0].task, 0u);
  EXPECT_EQ(plan.todo[0].attempts, 1);
  EXPECT_EQ(plan.todo[1].row, 4u);
  EXPECT_EQ(plan.todo[1].task, 2u);
  EXPECT_EQ(plan.todo[2].row, 5u);
  EXPECT_EQ(plan.todo[2].task, 3u);
  EXPECT_EQ(plan.todo[3].row, 6u);
  EXPECT_EQ(plan.todo[3].task, 5u);
  EXPECT_EQ(plan.todo[3].attempts, 0);
  EXPECT_EQ(plan.new_rows, 2u) << "todo[2] and todo[3], tasks 3 and 5, are new rows";
}

TEST(Resume, WithoutRetriesAFailedTaskStaysFailed) {
  const auto spec = six_tasks();
  std::vector<RowState> rows;
  for (const auto& t : spec.tasks) rows.push_back({t.id, TaskStatus::failed, 1});
  const auto plan = sweep::reconcile(spec, rows, 0);
  EXPECT_TRUE(plan.todo.empty());
  EXPECT_EQ(plan.failed, 6u);
}
