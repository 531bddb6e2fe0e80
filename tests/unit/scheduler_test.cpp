#include <mpisweep/runtime/scheduler.hpp>

#include "runtime/protocol.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace mpisweep;
using runtime::Scheduler;

TEST(Scheduler, OneTaskAtATimeUntilDurationsAreKnown) {
  Scheduler s(10, {1, 2});
  EXPECT_EQ(s.assign(1, 0).size(), 1u);
  EXPECT_TRUE(s.assign(1, 0).empty()) << "no second task before the first is timed";
  EXPECT_EQ(s.assign(2, 0).size(), 1u);
  EXPECT_EQ(s.in_flight(), 2u);
}

TEST(Scheduler, TinyTasksAreBatchedAndPrefetchedLongOnesAreNot) {
  Scheduler s(100000, {1, 2});
  auto first = s.assign(1, 0);
  s.on_result(1, first[0], TaskStatus::done, 1e-6);  // 1 us tasks
  auto batch = s.assign(1, 0);
  EXPECT_EQ(batch.size(), 2 * 1024u) << "two full batches of tiny tasks";
  EXPECT_TRUE(s.assign(1, 0).empty()) << "enough in flight";

  Scheduler slow(10, {1, 2});
  auto t = slow.assign(1, 0);
  slow.on_result(1, t[0], TaskStatus::done, 2.0);
  EXPECT_EQ(slow.assign(1, 0).size(), 1u) << "long tasks go one at a time";
  EXPECT_TRUE(slow.assign(1, 0).empty());
}

TEST(Scheduler, TailIsSharedAndEveryTaskRunsOnce) {
  Scheduler s(50, {1, 2, 3});
  std::multiset<std::size_t> ran;
  s.on_result(1, s.assign(1, 0)[0], TaskStatus::done, 1e-4);
  ran.insert(0);
  while (!s.finished()) {
    for (int w : {1, 2, 3}) {
      const std::size_t queued = s.queued();
      auto b = s.assign(w, 0);
      // A batch is at most half an even share of what is left, and a worker holds two.
      EXPECT_LE(b.size(), 2 * (queued / (2 * 3) + 1)) << "batches shrink near the end";
      for (auto i : b) {
        ran.insert(i);
        s.on_result(w, i, TaskStatus::done, 1e-4);
      }
    }
  }
  EXPECT_EQ(ran.size(), 50u);
  EXPECT_EQ(std::set<std::size_t>(ran.begin(), ran.end()).size(), 50u);
  EXPECT_EQ(s.completed(), 50u);
}

TEST(Scheduler, RetriesFailuresAndRequeuesReturnedTasks) {
  runtime::SchedulerOptions o;
  o.retries = 1;
  Scheduler s(2, {1}, o);
  auto a = s.assign(1, 0);
  EXPECT_EQ(s.on_result(1, a[0], TaskStatus::failed, 1.0), Scheduler::Verdict::retry);
  auto b = s.assign(1, 0);
  EXPECT_EQ(b[0], 1u);
  EXPECT_EQ(s.on_result(1, b[0], TaskStatus::returned, 0), Scheduler::Verdict::requeued);
  EXPECT_EQ(s.attempts(1), 0) << "a returned task made no attempt";
  auto c = s.assign(1, 0);
  EXPECT_EQ(c[0], 1u) << "returned tasks go back to the front";
  EXPECT_EQ(s.on_result(1, c[0], TaskStatus::done, 1.0), Scheduler::Verdict::final);
  auto d = s.assign(1, 0);
  EXPECT_EQ(d[0], 0u);
  EXPECT_EQ(s.on_result(1, d[0], TaskStatus::timeout, 1.0), Scheduler::Verdict::final);
  EXPECT_EQ(s.attempts(0), 2);
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.failed(), 1u);
}

TEST(Scheduler, StopsAndDeadlines) {
  Scheduler s(10, {1});
  s.on_result(1, s.assign(1, 0)[0], TaskStatus::done, 1.0);
  s.stop();
  EXPECT_TRUE(s.assign(1, 0).empty());
  EXPECT_TRUE(s.finished());

  runtime::SchedulerOptions o;
  o.deadline = 100.0;
  Scheduler d(10, {1}, o);
  d.on_result(1, d.assign(1, 0)[0], TaskStatus::done, 10.0);
  EXPECT_EQ(d.assign(1, 80.0).size(), 1u) << "80 + 10 <= 100: may start";
  EXPECT_FALSE(d.deadline_reached());
  d.on_result(1, 1, TaskStatus::done, 10.0);
  EXPECT_TRUE(d.assign(1, 95.0).empty()) << "95 + 10 > 100: may not start";
  EXPECT_TRUE(d.deadline_reached());
}

TEST(Protocol, TasksAndResultsRoundTrip) {
  std::vector<runtime::TaskMessage> tasks(2);
  tasks[0] = {3, 42, 0xfeedbeefcafe0001ULL,
              {Value{true}, Value{std::int64_t{-5}}, Value{0.1}, Value{std::string("shear")}}};
  auto back = runtime::unpack<std::vector<runtime::TaskMessage>>(runtime::pack(tasks));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].index, 3u);
  EXPECT_EQ(back[0].seed, 42u);
  EXPECT_EQ(back[0].task_id, 0xfeedbeefcafe0001ULL) << "the command kind's {task_id}";
  EXPECT_EQ(back[0].params, tasks[0].params);

  runtime::ResultMessage r;
  r.index = 9;
  r.outcome.status = TaskStatus::timeout;
  r.outcome.worker = 4;
  r.outcome.error = "too slow";
  r.outcome.metrics = {1.5, std::nan("")};
  r.outcome.series = {{}, {1, 2, 3}};
  r.outcome.host = "stays home";  // the master fills host and attempts; they do not travel
  r.outcome.attempts = 7;
  auto rb = runtime::unpack<std::vector<runtime::ResultMessage>>(
      runtime::pack(std::vector<runtime::ResultMessage>{r}));
  EXPECT_EQ(rb[0].index, 9u);
  EXPECT_EQ(rb[0].outcome.status, TaskStatus::timeout);
  EXPECT_EQ(rb[0].outcome.worker, 4);
  EXPECT_EQ(rb[0].outcome.error, "too slow");
  EXPECT_EQ(rb[0].outcome.metrics[0], 1.5);
  EXPECT_TRUE(std::isnan(rb[0].outcome.metrics[1]));
  EXPECT_EQ(rb[0].outcome.series, r.outcome.series);
  EXPECT_EQ(rb[0].outcome.host, "");
  EXPECT_EQ(rb[0].outcome.attempts, 1);
}

TEST(Retry, OneRuleForResumeAndScheduler) {
  EXPECT_TRUE(should_retry(TaskStatus::failed, 1, 1)) << "retries=1 allows a second attempt";
  EXPECT_FALSE(should_retry(TaskStatus::failed, 2, 1));
  EXPECT_TRUE(should_retry(TaskStatus::timeout, 1, 2));
  EXPECT_FALSE(should_retry(TaskStatus::done, 0, 5));
  EXPECT_FALSE(should_retry(TaskStatus::pending, 0, 5)) << "pending runs anyway; not a retry";
  EXPECT_FALSE(should_retry(TaskStatus::failed, 1, 0));
  // The scheduler follows the same rule: with retries=1 a task failing twice is final.
  Scheduler s(1, {1}, {.retries = 1});
  ASSERT_EQ(s.assign(1, 0).size(), 1u);
  EXPECT_EQ(s.on_result(1, 0, TaskStatus::failed, 0.1), Scheduler::Verdict::retry);
  ASSERT_EQ(s.assign(1, 0).size(), 1u);
  EXPECT_EQ(s.on_result(1, 0, TaskStatus::failed, 0.1), Scheduler::Verdict::final);
  EXPECT_EQ(s.attempts(0), 2);
  EXPECT_EQ(s.failed(), 1u);
}
