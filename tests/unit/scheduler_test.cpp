#include <mpisweep/core/error.hpp>
#include <mpisweep/runtime/scheduler.hpp>

#include "runtime/protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
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

// Issue 18: a worker whose results are big keeps one task in reserve whatever the tasks'
// duration, so it computes while its result travels to the master and is written; near the end
// (no more queued than one a worker) it goes back to one at a time so the tail stays shared.
TEST(Scheduler, BigResultsKeepOneTaskInReserveUntilTheTail) {
  Scheduler s(6, {1, 2});
  auto t = s.assign(1, 0);
  ASSERT_EQ(t.size(), 1u);
  s.on_result(1, t[0], TaskStatus::done, 2.0, std::size_t{10} << 20);  // 2 s, 10 MiB
  EXPECT_EQ(s.assign(1, 0).size(), 2u) << "the task and one in reserve";
  EXPECT_TRUE(s.assign(1, 0).empty()) << "one reserve only";
  EXPECT_EQ(s.assign(2, 0).size(), 2u) << "3 queued for 2 workers: still a reserve";
  EXPECT_EQ(s.queued(), 1u);
  s.on_result(2, 3, TaskStatus::done, 2.0, std::size_t{10} << 20);
  EXPECT_EQ(s.assign(2, 0).size(), 0u) << "worker 2 still holds its reserve";
  s.on_result(2, 4, TaskStatus::done, 2.0, std::size_t{10} << 20);
  EXPECT_EQ(s.assign(2, 0).size(), 1u) << "the last task, alone";

  // The same durations with small results: no reserve.
  Scheduler small(6, {1, 2});
  auto u = small.assign(1, 0);
  small.on_result(1, u[0], TaskStatus::done, 2.0, 4096);
  EXPECT_EQ(small.assign(1, 0).size(), 1u);
  EXPECT_TRUE(small.assign(1, 0).empty());
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
  tasks[0] = {3,
              42,
              0xfeedbeefcafe0001ULL,
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

// Issue 18: the master reads a result's encoded chunks in place, from the received message it
// keeps alive, and the message is sized exactly once on the worker.
TEST(Protocol, EncodedSeriesAreReadInPlaceFromTheMessage) {
  SeriesSpec spec;
  spec.name = "field";
  std::vector<double> v(static_cast<std::size_t>(chunk_codec::chunk_elements(spec)) * 3 + 5);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.001 * double(i)) + double(i % 7);
  runtime::ResultMessage r;
  r.index = 2;
  r.outcome.metrics = {0.5};
  r.outcome.series = {{}, {1, 2}};
  r.outcome.encoded = {
      nullptr, std::make_shared<const chunk_codec::Encoded>(chunk_codec::encode_series(v, spec))};
  const std::vector<runtime::ResultMessage> one{r};
  auto packed = runtime::pack(one);
  EXPECT_EQ(packed.size(), runtime::result_wire_bytes(r)) << "the exact size, reserved once";
  const auto message = std::make_shared<const std::string>(std::move(packed));
  runtime::wire::Reader reader(*message);
  runtime::ResultMessage back;
  runtime::get_result(reader, back, message);
  EXPECT_EQ(reader.remaining(), 0u);
  ASSERT_EQ(back.outcome.encoded.size(), 2u);
  EXPECT_EQ(back.outcome.encoded[0], nullptr);
  const auto& e = *back.outcome.encoded[1];
  EXPECT_EQ(e, *r.outcome.encoded[1]) << "same chunks";
  EXPECT_TRUE(e.bytes.empty()) << "not copied out";
  const auto* begin = reinterpret_cast<const unsigned char*>(message->data());
  EXPECT_GE(e.chunk(0).data(), begin);
  EXPECT_LE(e.chunk(e.chunks() - 1).data() + e.chunk(e.chunks() - 1).size(),
            begin + message->size());
  EXPECT_EQ(back.outcome.series, r.outcome.series);
  // Without an owner the chunks are copied, and compare equal all the same.
  runtime::wire::Reader again(*message);
  runtime::ResultMessage copied;
  runtime::get_result(again, copied);
  EXPECT_EQ(*copied.outcome.encoded[1], e);
  EXPECT_EQ(copied.outcome.encoded[1]->bytes.size(), e.stored_bytes());
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

TEST(Scheduler, LongestExpectedFirstOrdersTheQueueStably) {
  Scheduler s(6, {1});
  s.order_longest_first({1.0, 5.0, 2.0, 5.0, 0.5, 2.0});
  std::vector<std::size_t> order;
  while (!s.finished()) {
    auto b = s.assign(1, 0);
    ASSERT_EQ(b.size(), 1u) << "untimed tasks go one at a time";
    order.push_back(b[0]);
    s.on_result(1, b[0], TaskStatus::done, 3.0);
  }
  // Descending expected cost; equal costs (5, 5 and 2, 2) keep their index order.
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 2, 5, 0, 4}));
  Scheduler bad(3, {1});
  EXPECT_THROW(bad.order_longest_first({1.0, 2.0}), internal_error);
}

// Two workers, tasks of 1,1,1,1,4 (in index order): in index order the 4 starts last and the
// sweep takes 6; longest first it takes 4 (the optimum), the makespan LPT promises here.
TEST(Scheduler, LongestExpectedFirstShortensTheTail) {
  const std::vector<double> cost{1, 1, 1, 1, 4};
  auto makespan = [&](bool lef) {
    Scheduler s(cost.size(), {1, 2});
    if (lef) s.order_longest_first(cost);
    double free_at[3] = {0, 0, 0}, end = 0;
    while (!s.finished()) {
      const int w = free_at[1] <= free_at[2] ? 1 : 2;  // the worker that frees up first
      auto b = s.assign(w, free_at[w]);
      for (auto i : b) {
        free_at[w] += cost[i];
        s.on_result(w, i, TaskStatus::done, cost[i]);
      }
      end = std::max(end, free_at[w]);
    }
    return end;
  };
  EXPECT_EQ(makespan(false), 6.0);
  EXPECT_EQ(makespan(true), 4.0);
}

// Classes 0, 1, 2 of three tasks each, interleaved; class 2 is measured slow, class 1 fast.
TEST(Scheduler, MeasuredCostOrdersTheQueueByClassMeans) {
  Scheduler s(9, {1});
  s.order_by_measured_cost({0, 1, 2, 0, 1, 2, 0, 1, 2});
  const double cost[3] = {2.0, 1.0, 5.0};
  auto run_one = [&] {
    auto b = s.assign(1, 0);
    EXPECT_EQ(b.size(), 1u);
    s.on_result(1, b[0], TaskStatus::done, cost[b[0] % 3]);
    return b[0];
  };
  EXPECT_EQ(run_one(), 0u) << "nothing measured: index order";
  // Sorted as class 0 is measured (2 s): one probe of each unmeasured class first.
  EXPECT_EQ(run_one(), 1u);
  // Sorted as class 1 is measured (1 s): class 2's probe, then class 0, then class 2's others at
  // the overall mean 1.5 s, then class 1.
  EXPECT_EQ(run_one(), 2u);
  // Sorted as class 2 is measured (5 s): the slow class first, then 0, then 1.
  std::vector<std::size_t> rest;
  while (!s.finished()) rest.push_back(run_one());
  EXPECT_EQ(rest, (std::vector<std::size_t>{5, 8, 3, 6, 4, 7}));
  Scheduler bad(2, {1});
  EXPECT_THROW(bad.order_by_measured_cost({0}), internal_error);
}

// 1,000 tasks of 1 ms (class 0), then 1,000 of 1 s (class 1): once measured, the costly class
// goes first and one task at a time, not in the batches of 20 that 1 ms tasks travel in.
TEST(Scheduler, MeasuredCostSizesBatchesByClass) {
  std::vector<std::uint32_t> cls(2000, 0);
  std::fill(cls.begin() + 1000, cls.end(), 1u);
  Scheduler s(2000, {1, 2});
  s.order_by_measured_cost(cls);
  ASSERT_EQ(s.assign(1, 0), (std::vector<std::size_t>{0}));
  s.on_result(1, 0, TaskStatus::done, 1e-3);
  EXPECT_EQ(s.assign(1, 0), (std::vector<std::size_t>{1000}))
      << "class 1's probe, alone: a batch keeps to one class";
  s.on_result(1, 1000, TaskStatus::done, 1.0);
  EXPECT_EQ(s.assign(2, 0), (std::vector<std::size_t>{1001})) << "costly class first, singly";
  EXPECT_TRUE(s.assign(2, 0).empty()) << "no reserve for 1 s tasks";
  // The cheap class, once at the front, travels in batches again.
  for (std::size_t t = 1001; t < 2000; ++t) {
    s.on_result(2, t, TaskStatus::done, 1.0);
    auto b = s.assign(2, 0);
    if (t + 1 < 2000)
      ASSERT_EQ(b, (std::vector<std::size_t>{t + 1}));
    else
      EXPECT_GT(b.size(), 1u) << "1 ms tasks batched once they are at the front";
  }
}

// The idle set against a plain scan of every worker (what the master did before), through
// batches, retries, returned tasks and the end of the queue; workers listed out of rank order.
TEST(Scheduler, IdleSetMatchesAScanOfEveryWorker) {
  const std::vector<int> workers{7, 3, 12, 5};
  runtime::SchedulerOptions o;
  o.retries = 1;
  Scheduler s(300, workers, o);
  const auto scan = [&]() -> std::optional<int> {
    for (int w : workers)
      if (s.in_flight(w) == 0) return w;
    return std::nullopt;
  };
  const auto idle_by_scan = [&] {
    return std::size_t(
        std::count_if(workers.begin(), workers.end(), [&](int w) { return s.in_flight(w) == 0; }));
  };
  EXPECT_EQ(s.first_idle(), std::optional<int>(7)) << "all idle: the first listed";
  std::map<int, std::deque<std::size_t>> held;
  std::uint64_t x = 12345;  // a fixed LCG (Knuth MMIX), so the sequence is the same everywhere
  const auto next = [&] { return (x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
  std::size_t events = 0, idle_seen = 0;
  while (!s.finished() && events < 5000) {
    const int w = workers[next() % workers.size()];
    if (next() % 2 == 0 || held[w].empty()) {
      for (auto t : s.assign(w, 0)) held[w].push_back(t);
    } else {
      const auto t = held[w].front();
      held[w].pop_front();
      const auto r = next() % 10;
      const auto status = r == 0   ? TaskStatus::failed
                          : r == 1 ? TaskStatus::returned
                                   : TaskStatus::done;
      s.on_result(w, t, status, 1e-3 * double(1 + t % 7));
    }
    ++events;
    ASSERT_EQ(s.first_idle(), scan()) << "after event " << events;
    ASSERT_EQ(s.idle_count(), idle_by_scan()) << "after event " << events;
    idle_seen += s.idle_count() > 0 && s.idle_count() < workers.size();
  }
  EXPECT_TRUE(s.finished()) << "the sweep ran to its end";
  EXPECT_GT(idle_seen, 10u) << "the sequence went through partly idle states";
  EXPECT_EQ(s.first_idle(), std::optional<int>(7)) << "all idle again at the end";
}

// The master's loop after a message (top up every idle worker in worker order) from the idle set
// hands out exactly what the scan over every worker did: same workers, same tasks, same order.
// Idle workers other than the sender appear when failures and returned tasks refill the queue.
TEST(Scheduler, IdleSetLoopDispatchesAsTheScan) {
  const std::vector<int> workers{1, 2, 3, 4, 5, 6};
  runtime::SchedulerOptions o;
  o.retries = 2;
  Scheduler by_scan(500, workers, o), by_set(500, workers, o);
  std::vector<std::pair<int, std::size_t>> sent_scan, sent_set;
  const auto top_up = [](Scheduler& s, int w, auto& sent) {
    auto b = s.assign(w, 0);
    for (auto t : b) sent.emplace_back(w, t);
    return !b.empty();
  };
  std::uint64_t x = 99;
  const auto next = [&] { return (x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
  for (int w : workers) top_up(by_scan, w, sent_scan), top_up(by_set, w, sent_set);
  std::size_t rounds = 0, from_idle_loop = 0;
  while (!by_scan.finished()) {
    ASSERT_EQ(sent_scan, sent_set) << "round " << rounds;
    // One results message: the oldest tasks a busy worker holds (one to all), each done in
    // 0.1-10 ms (batched, with a reserve), failed 3 times in 10 or returned 1 in 20; a sender
    // still holding its reserve takes nothing, so requeued tasks go to the idle workers.
    std::vector<int> busy;
    for (int w : workers)
      if (by_scan.in_flight(w) > 0) busy.push_back(w);
    const int w = busy[next() % busy.size()];
    std::vector<std::size_t> held;
    for (const auto& [v, t] : sent_scan)
      if (v == w) held.push_back(t);
    held.resize(1 + next() % held.size());
    for (const auto task : held) {
      const double secs = 1e-4 * double(1 + next() % 100);
      const auto r = next() % 20;
      const auto status = r < 6   ? TaskStatus::failed
                          : r < 7 ? TaskStatus::returned
                                  : TaskStatus::done;
      by_scan.on_result(w, task, status, secs);
      by_set.on_result(w, task, status, secs);
      sent_scan.erase(std::find(sent_scan.begin(), sent_scan.end(), std::pair{w, task}));
      sent_set.erase(std::find(sent_set.begin(), sent_set.end(), std::pair{w, task}));
    }
    top_up(by_scan, w, sent_scan);
    top_up(by_set, w, sent_set);
    if (by_scan.queued() > 0)
      for (int v : workers)
        if (by_scan.in_flight(v) == 0) top_up(by_scan, v, sent_scan);
    while (by_set.queued() > 0) {
      const auto idle = by_set.first_idle();
      if (!idle || !top_up(by_set, *idle, sent_set)) break;
      ++from_idle_loop;
    }
    ++rounds;
  }
  EXPECT_TRUE(by_set.finished());
  EXPECT_EQ(by_scan.completed() + by_scan.failed(), 500u);
  EXPECT_EQ(by_set.completed(), by_scan.completed());
  EXPECT_GT(by_scan.failed(), 0u) << "some tasks failed three times";
  EXPECT_GT(from_idle_loop, 0u) << "the loop topped up workers other than the sender";
  EXPECT_GT(rounds, 100u);
}
